//! Reads of the clearance core: declarations, their events, manifests, arrivals, control
//! instructions.

use chrono::{DateTime, Utc};
use tongguan_domain::codes::Direction;
use tongguan_domain::lifecycle::{Declaration, Event, EventKind, Status};
use tongguan_domain::manifest::Manifest;
use uuid::Uuid;

use crate::changeset::micros;
use crate::{InstructionRow, Result, RowLike, Store, Val, corrupt};

/// Filters of a declaration list.
#[derive(Debug, Clone, Default)]
pub struct DeclarationFilter {
    /// Only declarations owned by one of these enterprises (an enterprise's or a broker's
    /// scope); `None` for every owner.
    pub owners: Option<Vec<Uuid>>,
    /// Customs district prefix for officers' queues, e.g. `53` or `5316`: declarations whose
    /// port customs or declaring customs starts with it.
    pub district_prefix: Option<String>,
    pub status: Option<Status>,
    pub bill_no: Option<String>,
    pub container_no: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub limit: i64,
    pub offset: i64,
}

fn body<T: serde::de::DeserializeOwned>(
    r: &dyn RowLike,
    i: usize,
    table: &'static str,
) -> Result<T> {
    serde_json::from_str(&r.text(i)?).map_err(|e| corrupt(table, e))
}

/// A stored JSON document (a declaration body; [`crate::packed`]) as `T`.
fn document<T: serde::de::DeserializeOwned>(
    r: &dyn RowLike,
    i: usize,
    table: &'static str,
) -> Result<T> {
    serde_json::from_slice(&r.document(i, table)?).map_err(|e| corrupt(table, e))
}

fn map_declaration(r: &dyn RowLike) -> Result<Declaration> {
    document(r, 0, "declarations")
}

fn map_event(r: &dyn RowLike) -> Result<(i64, Event)> {
    const T: &str = "declaration_events";
    let status = |i: usize| -> Result<Status> {
        let s = r.text(i)?;
        Status::parse(&s).ok_or_else(|| corrupt(T, format!("status {s}")))
    };
    let us = r.i64(2)?;
    let kind: EventKind = body(r, 7, T)?;
    Ok((
        r.i64(0)?,
        Event {
            declaration_id: Uuid::parse_str(&r.text(1)?).map_err(|e| corrupt(T, e))?,
            at: DateTime::from_timestamp_micros(us).ok_or_else(|| corrupt(T, "time"))?,
            actor: r.text(3)?,
            reason: r.text(4)?,
            from: status(5)?,
            to: status(6)?,
            kind,
        },
    ))
}

/// A bill's place on a manifest and whether it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillState {
    pub bill_no: String,
    pub manifest_id: Uuid,
    pub arrived_at: Option<DateTime<Utc>>,
    /// When the transport means arrived (the manifest's first arrival report).
    pub manifest_arrived_at: Option<DateTime<Utc>>,
    /// The manifest's expected arrival.
    pub eta: Option<DateTime<Utc>>,
}

/// A declaration as the gate index keeps it (see [`Store::gate_index_rows`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateRow {
    pub declaration_id: Uuid,
    pub direction: Direction,
    pub status: Status,
    /// The control action when the declaration was selected (布控), e.g. `physical_inspection`.
    pub control_action: Option<String>,
    pub released_at: Option<DateTime<Utc>>,
    pub arrived_at: Option<DateTime<Utc>>,
    /// The domestic port, trimmed and upper-case as stored in its column.
    pub port: String,
    pub containers: Vec<String>,
}

/// The facts of a stored declaration body the gate needs; serde skips every other field
/// without building it.
#[derive(serde::Deserialize)]
struct GateFacts {
    arrived_at: Option<DateTime<Utc>>,
    released_at: Option<DateTime<Utc>>,
    control: Option<GateControl>,
}

#[derive(serde::Deserialize)]
struct GateControl {
    action: String,
}

fn map_gate_row(r: &dyn RowLike) -> Result<(GateRow, String)> {
    const T: &str = "declarations";
    let direction = r.text(1)?;
    let direction =
        Direction::parse(&direction).ok_or_else(|| corrupt(T, format!("direction {direction}")))?;
    let status = r.text(2)?;
    let status = Status::parse(&status).ok_or_else(|| corrupt(T, format!("status {status}")))?;
    let facts: GateFacts = document(r, 4, T)?;
    Ok((
        GateRow {
            declaration_id: Uuid::parse_str(&r.text(0)?).map_err(|e| corrupt(T, e))?,
            direction,
            status,
            control_action: facts.control.map(|c| c.action),
            released_at: facts.released_at,
            arrived_at: facts.arrived_at,
            port: r.text(3)?,
            containers: Vec::new(),
        },
        r.text(5)?,
    ))
}

fn opt_time(r: &dyn RowLike, i: usize, table: &'static str) -> Result<Option<DateTime<Utc>>> {
    r.opt_i64(i)?
        .map(|us| DateTime::from_timestamp_micros(us).ok_or_else(|| corrupt(table, "time")))
        .transpose()
}

impl Store {
    pub async fn declaration(&self, id: Uuid) -> Result<Option<Declaration>> {
        Ok(self
            .lookup(
                "SELECT body FROM declarations WHERE id = $1",
                vec![id.to_string().into()],
                map_declaration,
            )
            .await?
            .pop())
    }

    pub async fn declarations_of_bill(&self, bill_no: &str) -> Result<Vec<Declaration>> {
        self.lookup(
            "SELECT body FROM declarations WHERE bill_no = $1 ORDER BY created_at, id",
            vec![bill_no.into()],
            map_declaration,
        )
        .await
    }

    pub async fn declarations_of_container(&self, container_no: &str) -> Result<Vec<Declaration>> {
        self.lookup(
            "SELECT d.body FROM declarations d JOIN declaration_containers c ON c.declaration_id = d.id WHERE c.container_no = $1 ORDER BY d.created_at, d.id",
            vec![container_no.into()],
            map_declaration,
        )
        .await
    }

    /// A page of declarations, newest first (ties by id).
    ///
    /// Only the conditions the filter has are written, so each backend plans the shape it
    /// is given: an owner's list walks `declarations_owner` in order, the unscoped lists
    /// `declarations_created`, a bill `declarations_bill_port`. Several owners (a broker
    /// and its principals) are one ordered page of each, merged, so the page is the same
    /// whatever the number of owners and no owner's whole history is sorted.
    pub async fn list_declarations(&self, f: &DeclarationFilter) -> Result<Vec<Declaration>> {
        let mut params: Vec<Val> = Vec::new();
        let mut bind = |v: Val| {
            params.push(v);
            format!("${}", params.len())
        };
        let mut conditions = String::new();
        let mut and = |c: String| {
            conditions.push_str(" AND ");
            conditions.push_str(&c);
        };
        if let Some(p) = &f.district_prefix {
            let p = bind(format!("{p}%").into());
            and(format!(
                "(port_customs LIKE {p} OR declaring_customs LIKE {p})"
            ));
        }
        if let Some(s) = f.status {
            and(format!("status = {}", bind(s.as_str().into())));
        }
        if let Some(b) = &f.bill_no {
            and(format!("bill_no = {}", bind(b.clone().into())));
        }
        if let Some(c) = &f.container_no {
            and(format!(
                "id IN (SELECT declaration_id FROM declaration_containers WHERE container_no = {})",
                bind(c.clone().into())
            ));
        }
        if let Some(t) = f.created_from {
            and(format!("created_at >= {}", bind(micros(t).into())));
        }
        if let Some(t) = f.created_to {
            and(format!("created_at < {}", bind(micros(t).into())));
        }
        let limit = bind(f.limit.into());
        let offset = bind(f.offset.into());
        const ORDER: &str = "ORDER BY created_at DESC, id";
        let sql = match f.owners.as_deref() {
            None => format!(
                "SELECT body FROM declarations WHERE TRUE{conditions} {ORDER} LIMIT {limit} OFFSET {offset}"
            ),
            Some([]) => return Ok(Vec::new()),
            Some([owner]) => {
                let owner = bind(owner.to_string().into());
                format!(
                    "SELECT body FROM declarations WHERE owner_id = {owner}{conditions} {ORDER} LIMIT {limit} OFFSET {offset}"
                )
            }
            Some(owners) => {
                let upto = bind(f.limit.saturating_add(f.offset).into());
                let pages: Vec<String> = owners
                    .iter()
                    .enumerate()
                    .map(|(i, o)| {
                        let owner = bind(o.to_string().into());
                        format!(
                            "SELECT * FROM (SELECT body, created_at, id FROM declarations WHERE owner_id = {owner}{conditions} {ORDER} LIMIT {upto}) AS p{i}"
                        )
                    })
                    .collect();
                format!(
                    "SELECT body FROM ({}) AS pages {ORDER} LIMIT {limit} OFFSET {offset}",
                    pages.join(" UNION ALL ")
                )
            }
        };
        self.query(sql, params, map_declaration).await
    }

    /// Events of a declaration in order, with their global sequence numbers.
    pub async fn declaration_events(&self, id: Uuid) -> Result<Vec<(i64, Event)>> {
        self.lookup(
            "SELECT id, declaration_id, at, actor, reason, from_status, to_status, data FROM declaration_events WHERE declaration_id = $1 ORDER BY id",
            vec![id.to_string().into()],
            map_event,
        )
        .await
    }

    /// What the gate index keeps of every declaration terminals may still ask about (all
    /// but drafts), one row per declaration with its containers, for rebuilding the index
    /// at start. Only the few facts the gate needs are read out of each body: parsing whole
    /// declarations (items, risk assessment) made the start grow by ~4 s per 100,000
    /// stored (issue 9).
    pub async fn gate_index_rows(&self) -> Result<Vec<GateRow>> {
        let rows = self
            .query(
                "SELECT c.declaration_id, d.direction, d.status, d.domestic_port, d.body, c.container_no FROM declaration_containers c JOIN declarations d ON d.id = c.declaration_id WHERE d.status <> 'draft' ORDER BY c.declaration_id, c.container_no",
                vec![],
                map_gate_row,
            )
            .await?;
        // One row per container, consecutive per declaration: fold them.
        let mut out: Vec<GateRow> = Vec::new();
        for (row, container) in rows {
            match out.last_mut() {
                Some(last) if last.declaration_id == row.declaration_id => {
                    last.containers.push(container)
                }
                _ => out.push(GateRow {
                    containers: vec![container],
                    ..row
                }),
            }
        }
        Ok(out)
    }

    /// The highest number stored with this prefix (customs or pre-entry numbers).
    pub async fn max_number(&self, prefix: &str, pre_entry: bool) -> Result<Option<String>> {
        let sql = if pre_entry {
            "SELECT max(pre_entry_no) FROM declarations WHERE pre_entry_no LIKE $1"
        } else {
            "SELECT max(customs_no) FROM declarations WHERE customs_no LIKE $1"
        };
        Ok(self
            .lookup(sql, vec![format!("{prefix}%").into()], |r| r.opt_text(0))
            .await?
            .pop()
            .flatten())
    }

    pub async fn manifest(&self, id: Uuid) -> Result<Option<Manifest>> {
        Ok(self
            .lookup(
                "SELECT body, arrived_at FROM manifests WHERE id = $1",
                vec![id.to_string().into()],
                map_manifest,
            )
            .await?
            .pop())
    }

    pub async fn bill(&self, bill_no: &str) -> Result<Option<BillState>> {
        Ok(self
            .lookup(
                "SELECT b.bill_no, MIN(b.manifest_id), MIN(b.arrived_at), MIN(m.arrived_at), MIN(m.eta) FROM bills b JOIN manifests m ON m.id = b.manifest_id WHERE b.bill_no = $1 GROUP BY b.bill_no",
                vec![bill_no.into()],
                |r| {
                    Ok(BillState {
                        bill_no: r.text(0)?,
                        manifest_id: Uuid::parse_str(&r.text(1)?)
                            .map_err(|e| corrupt("bills", e))?,
                        arrived_at: opt_time(r, 2, "bills")?,
                        manifest_arrived_at: opt_time(r, 3, "manifests")?,
                        eta: opt_time(r, 4, "manifests")?,
                    })
                },
            )
            .await?
            .pop())
    }

    /// The manifests a bill is on (one per leg), with their ports.
    pub async fn bill_manifests(&self, bill_no: &str) -> Result<Vec<(Uuid, String)>> {
        self.lookup(
            "SELECT b.manifest_id, m.port FROM bills b JOIN manifests m ON m.id = b.manifest_id WHERE b.bill_no = $1 ORDER BY b.manifest_id",
            vec![bill_no.into()],
            |r| Ok((Uuid::parse_str(&r.text(0)?).map_err(|e| corrupt("bills", e))?, r.text(1)?)),
        )
        .await
    }

    /// Where and when a container was reported arrived.
    pub async fn container_arrival_at(
        &self,
        container_no: &str,
    ) -> Result<Option<(DateTime<Utc>, String)>> {
        Ok(self
            .lookup(
                "SELECT at, terminal FROM container_arrivals WHERE container_no = $1",
                vec![container_no.into()],
                |r| {
                    let at = opt_time(r, 0, "container_arrivals")?
                        .ok_or_else(|| corrupt("container_arrivals", "time"))?;
                    Ok((at, r.text(1)?))
                },
            )
            .await?
            .pop())
    }

    /// The legs (`direct`, `feeder`, `mainline`) on whose manifests a bill already is.
    pub async fn bill_legs(&self, bill_no: &str) -> Result<Vec<String>> {
        self.lookup(
            "SELECT leg FROM bills WHERE bill_no = $1",
            vec![bill_no.into()],
            |r| r.text(0),
        )
        .await
    }

    /// House bills (air) under a master bill.
    pub async fn bills_of_master(&self, master: &str) -> Result<Vec<String>> {
        self.lookup(
            "SELECT DISTINCT bill_no FROM bills WHERE master_bill_no = $1 ORDER BY bill_no",
            vec![master.into()],
            |r| r.text(0),
        )
        .await
    }

    /// Every terminal (code, version, JSON body).
    pub async fn terminals(&self) -> Result<Vec<(String, i64, String)>> {
        self.query(
            "SELECT code, version, body FROM terminals ORDER BY code",
            vec![],
            |r| Ok((r.text(0)?, r.i64(1)?, r.text(2)?)),
        )
        .await
    }

    /// Containers on a manifest, with their bills.
    pub async fn manifest_containers(&self, manifest: Uuid) -> Result<Vec<(String, String)>> {
        self.lookup(
            "SELECT bill_no, container_no FROM bill_containers WHERE manifest_id = $1 ORDER BY container_no",
            vec![manifest.to_string().into()],
            |r| Ok((r.text(0)?, r.text(1)?)),
        )
        .await
    }

    /// The bill a container is on, if any manifest lists it.
    pub async fn bill_of_container(&self, container_no: &str) -> Result<Option<String>> {
        Ok(self
            .lookup(
                "SELECT bill_no FROM bill_containers WHERE container_no = $1 ORDER BY bill_no LIMIT 1",
                vec![container_no.into()],
                |r| r.text(0),
            )
            .await?
            .pop())
    }

    pub async fn container_arrival(&self, container_no: &str) -> Result<Option<DateTime<Utc>>> {
        Ok(self
            .lookup(
                "SELECT at FROM container_arrivals WHERE container_no = $1",
                vec![container_no.into()],
                |r| opt_time(r, 0, "container_arrivals"),
            )
            .await?
            .pop()
            .flatten())
    }

    pub async fn instructions(&self, active_only: bool) -> Result<Vec<InstructionRow>> {
        let sql = if active_only {
            "SELECT id, version, active, district, created_by, created_at, updated_at, body FROM control_instructions WHERE active = 1 ORDER BY created_at, id"
        } else {
            "SELECT id, version, active, district, created_by, created_at, updated_at, body FROM control_instructions ORDER BY created_at, id"
        };
        self.query(sql, vec![], map_instruction).await
    }

    pub async fn instruction(&self, id: Uuid) -> Result<Option<InstructionRow>> {
        Ok(self
            .lookup(
                "SELECT id, version, active, district, created_by, created_at, updated_at, body FROM control_instructions WHERE id = $1",
                vec![id.to_string().into()],
                map_instruction,
            )
            .await?
            .pop())
    }
}

fn map_manifest(r: &dyn RowLike) -> Result<Manifest> {
    let mut m: Manifest = body(r, 0, "manifests")?;
    m.arrived_at = opt_time(r, 1, "manifests")?;
    Ok(m)
}

fn map_instruction(r: &dyn RowLike) -> Result<InstructionRow> {
    const T: &str = "control_instructions";
    let time = |i: usize| -> Result<DateTime<Utc>> {
        let us = r.i64(i)?;
        DateTime::from_timestamp_micros(us).ok_or_else(|| corrupt(T, "time"))
    };
    Ok(InstructionRow {
        id: Uuid::parse_str(&r.text(0)?).map_err(|e| corrupt(T, e))?,
        version: r.i64(1)?,
        active: r.i64(2)? != 0,
        district: r.text(3)?,
        created_by: r.text(4)?,
        created_at: time(5)?,
        updated_at: time(6)?,
        body: r.text(7)?,
    })
}
