//! The text fields of the request bodies in the OpenAPI document, from one
//! table: length limits from [`lockbox_core::model::limits`], and a pattern
//! built from what [`lockbox_core::text::refused_char`] refuses, so the
//! document says what the engine accepts (the API test
//! `documented_text_patterns_match_the_engine` checks every BMP character).

use lockbox_core::model::limits;
use lockbox_core::text::FORMAT_RANGES;
use utoipa::openapi::{OpenApi, RefOr, Schema};

/// How the engine checks a field.
#[derive(Debug, Clone, Copy)]
enum Text {
    /// `model::required`: one line, not blank.
    Line(usize),
    /// `model::required_text`: line breaks and tabs allowed, not blank.
    Lines(usize),
    /// `model::optional_text`: line breaks and tabs allowed, may be empty.
    OptionalLines(usize),
}

/// Every text field of a request body: (schema, property, check).
const FIELDS: &[(&str, &str, Text)] = &[
    ("FileRequestBody", "engineer", Text::Line(limits::NAME)),
    ("FileRequestBody", "case", Text::Line(limits::CASE)),
    ("FileRequestBody", "workload", Text::Line(limits::WORKLOAD)),
    ("FileRequestBody", "resource", Text::Line(limits::RESOURCE)),
    ("FileRequestBody", "reason", Text::Lines(limits::REASON)),
    ("ProviderApprovalBody", "manager", Text::Line(limits::NAME)),
    (
        "ProviderApprovalBody",
        "comment",
        Text::OptionalLines(limits::COMMENT),
    ),
    ("CancelBody", "engineer", Text::Line(limits::NAME)),
    (
        "CancelBody",
        "comment",
        Text::OptionalLines(limits::COMMENT),
    ),
    ("ActionBody", "engineer", Text::Line(limits::NAME)),
    ("ActionBody", "action", Text::Line(limits::ACTION)),
];

/// The characters a field refuses, as the body of an ECMA-262 character
/// class. Control characters (`char::is_control`, Unicode Cc) are U+0000–001F
/// and U+007F–009F; a multi-line field allows tab and line feed. Format
/// characters above U+FFFF have no `\uXXXX` escape and are left out (the
/// engine still refuses them).
fn refused(multiline: bool) -> String {
    let control: &[(u32, u32)] = if multiline {
        &[(0x00, 0x08), (0x0B, 0x1F), (0x7F, 0x9F)]
    } else {
        &[(0x00, 0x1F), (0x7F, 0x9F)]
    };
    control
        .iter()
        .chain(FORMAT_RANGES.iter().filter(|&&(_, hi)| hi <= 0xFFFF))
        .map(|&(lo, hi)| {
            if lo == hi {
                format!(r"\u{lo:04x}")
            } else {
                format!(r"\u{lo:04x}-\u{hi:04x}")
            }
        })
        .collect()
}

impl Text {
    /// (minLength, maxLength, pattern). A required field has a character
    /// other than white space (the engine trims, then refuses empty).
    fn schema(self) -> (Option<usize>, usize, String) {
        let line = refused(false);
        match self {
            Text::Line(max) => (Some(1), max, format!(r"^[^{line}]*[^\s{line}][^{line}]*$")),
            Text::Lines(max) => {
                let lines = refused(true);
                (
                    Some(1),
                    max,
                    format!(r"^[^{lines}]*[^\s{line}][^{lines}]*$"),
                )
            }
            Text::OptionalLines(max) => (None, max, format!("^[^{}]*$", refused(true))),
        }
    }
}

/// Sets the limits and pattern of every field in [`FIELDS`].
pub struct TextFields;

impl utoipa::Modify for TextFields {
    fn modify(&self, doc: &mut OpenApi) {
        let Some(components) = doc.components.as_mut() else {
            return;
        };
        for &(schema, field, text) in FIELDS {
            let Some(RefOr::T(Schema::Object(body))) = components.schemas.get_mut(schema) else {
                continue;
            };
            let Some(RefOr::T(Schema::Object(p))) = body.properties.get_mut(field) else {
                continue;
            };
            let (min, max, pattern) = text.schema();
            p.min_length = min;
            p.max_length = Some(max);
            p.pattern = Some(pattern);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::OpenApi as _;

    /// Each entry names a real property (a renamed field would otherwise
    /// silently lose its limits).
    #[test]
    fn every_listed_field_is_in_the_document() {
        let doc = serde_json::to_value(crate::ApiDoc::openapi()).unwrap();
        for &(schema, field, text) in FIELDS {
            let p = &doc["components"]["schemas"][schema]["properties"][field];
            let (_, max, pattern) = text.schema();
            assert_eq!(p["maxLength"], max, "{schema}.{field}");
            assert_eq!(p["pattern"], pattern.as_str(), "{schema}.{field}");
        }
    }
}
