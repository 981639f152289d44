//! The two SQL dialects: statements are written once in SQLite's spelling
//! and read by PostgreSQL through [`to_postgres`] (`?N` placeholders become
//! `$N`, SQLite's `INDEXED BY` hint is dropped, `LIKE` becomes `ILIKE` and
//! `IFNULL` `COALESCE`); the few that differ more are chosen with `Tx::pick`.

/// Which SQL a transaction speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A statement in SQLite's spelling as PostgreSQL reads it (see the module
/// doc). Text inside quotes is left alone.
pub fn to_postgres(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let b = sql.as_bytes();
    let mut i = 0;
    let mut next = 0u32; // the highest placeholder number so far
    while i < b.len() {
        let c = b[i];
        if c == b'\'' {
            let end = sql[i + 1..].find('\'').map_or(b.len(), |j| i + 1 + j + 1);
            out.push_str(&sql[i..end]);
            i = end;
        } else if c == b'?' {
            let digits = sql[i + 1..].bytes().take_while(u8::is_ascii_digit).count();
            let n = if digits == 0 {
                next + 1
            } else {
                sql[i + 1..i + 1 + digits].parse().unwrap_or(0)
            };
            next = next.max(n);
            out.push('$');
            out.push_str(&n.to_string());
            i += 1 + digits;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let len = sql[i..]
                .bytes()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                .count();
            let word = &sql[i..i + len];
            i += len;
            if word.eq_ignore_ascii_case("INDEXED") {
                // `INDEXED BY name`: a SQLite planner hint.
                let rest = &sql[i..];
                let by = rest.trim_start();
                if by.len() >= 2 && by[..2].eq_ignore_ascii_case("BY") {
                    let after = by[2..].trim_start();
                    let name = after
                        .bytes()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                        .count();
                    i += rest.len() - after.len() + name;
                    continue;
                }
                out.push_str(word);
            } else if word.eq_ignore_ascii_case("LIKE") {
                out.push_str("ILIKE");
            } else if word.eq_ignore_ascii_case("IFNULL") {
                out.push_str("COALESCE");
            } else {
                out.push_str(word);
            }
        } else if let Some(ch) = sql[i..].chars().next() {
            out.push(ch);
            i += ch.len_utf8();
        } else {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::to_postgres;

    #[test]
    fn statements_read_as_postgres() {
        assert_eq!(
            to_postgres("SELECT a FROM t INDEXED BY t_idx WHERE a = ?1 AND b = ?2 LIMIT ?"),
            "SELECT a FROM t  WHERE a = $1 AND b = $2 LIMIT $3"
        );
        assert_eq!(
            to_postgres("SELECT IFNULL(x, 1) FROM t WHERE x LIKE ? ESCAPE '\\' AND y = '?1'"),
            "SELECT COALESCE(x, 1) FROM t WHERE x ILIKE $1 ESCAPE '\\' AND y = '?1'"
        );
        assert_eq!(
            to_postgres("tenant = ? AND at >= ?"),
            "tenant = $1 AND at >= $2"
        );
        // Column names that merely contain the words stay.
        assert_eq!(
            to_postgres("SELECT likes, indexed_at FROM t"),
            "SELECT likes, indexed_at FROM t"
        );
    }
}
