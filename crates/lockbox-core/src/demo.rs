//! `lockbox demo`: a few realistic sample requests for a first look.

use crate::model::{NewRequest, Request};
use crate::{Engine, Result};

const ENGINEERS: [&str; 3] = [
    "alex.chen@provider.example",
    "priya.nair@provider.example",
    "tom.berg@provider.example",
];
const MANAGER: &str = "sam.okafor@provider.example";

/// File sample requests in `tenant`: three waiting for the customer, one
/// still waiting for the provider's manager. Returns them.
pub fn seed(engine: &mut Engine, tenant: &str) -> Result<Vec<Request>> {
    let samples = [
        (ENGINEERS[0], "SR-4821907", "Exchange Online", "Mailbox: finance@contoso.example",
         "Mail flow rule drops messages from the ERP system; need to inspect message trace and transport rules.", Some(2 * 3600)),
        (ENGINEERS[1], "SR-4822113", "SharePoint Online", "Site: /sites/Legal",
         "Customer reports a corrupted document library view; need to read list schema to repair it.", Some(3600)),
        (ENGINEERS[2], "SR-4822540", "Teams", "Team: Project Falcon",
         "Meeting recordings fail to upload; need to inspect the channel's files folder.", Some(30 * 60)),
        (ENGINEERS[0], "SR-4823001", "OneDrive", "User: j.doe@contoso.example",
         "Sync client reports a conflict loop on one file; need to check its version history.", None),
    ];
    let mut out = Vec::new();
    for (i, (eng, case, workload, resource, reason, dur)) in samples.into_iter().enumerate() {
        let new = NewRequest {
            engineer: eng.into(),
            case: case.into(),
            workload: workload.into(),
            resource: resource.into(),
            reason: reason.into(),
            duration_s: dur,
        };
        let mut req = engine.file_request(tenant, &new)?;
        if i < 3 && req.state == crate::model::State::AwaitingProvider {
            req = engine.provider_approve(
                tenant,
                &req.id,
                MANAGER,
                Some("Reviewed: needed to resolve the case"),
            )?;
        }
        out.push(req);
    }
    Ok(out)
}
