//! The guarantee quota ledger of consolidated tax payment (汇总征税, M1), kept as double entry
//! in the manner of TigerBeetle.
//!
//! # What it records
//!
//! An enterprise registers a general tax guarantee (总担保: a bank guarantee 银行保函 or a
//! tariff-guarantee insurance policy 关税保证保险) whose amount is its **quota** (担保额度).
//! Each declaration it files under consolidated tax payment holds its taxes against the quota
//! when customs accepts it, uses them for good when the goods are released, and gives them back
//! if the declaration is cancelled. Taxes of goods released in a month are paid together before
//! the end of the 5th working day of the next month (Customs Tariff Law 2024 Art. 43,
//! "次月第五个工作日结束前"; GACC Announcement 2017 No. 45; the due date is
//! `tongguan_calendar::monthly_statement_due`), and the payment restores the quota. A
//! declaration whose taxes do not fit the quota falls back to pay-before-release (the
//! [`LedgerError::InsufficientQuota`] answer).
//!
//! # Accounts and transfers
//!
//! Three accounts per enterprise, each with TigerBeetle's four totals (debits/credits ×
//! pending/posted). A transfer moves `amount` fen from its `debit` account to its `credit`
//! account.
//!
//! | account | balance | meaning |
//! |---|---|---|
//! | [`AccountKind::Guarantee`] | debits posted − credits posted | the quota: what the guarantor has committed (担保额度) |
//! | [`AccountKind::Available`] | credits posted − debits posted − debits pending | quota available (可用额度); never below zero |
//! | [`AccountKind::Owed`] | pending credits; credits posted − debits posted | reserved: held for accepted, unreleased declarations (预扣); owed: taxes of released declarations not yet paid (已放行未缴) |
//!
//! | transfer ([`TransferKind`]) | debit → credit | TigerBeetle | when |
//! |---|---|---|---|
//! | `IncreaseQuota` | Guarantee → Available | posted | a guarantee approved or raised |
//! | `DecreaseQuota` | Available → Guarantee | posted | a guarantee reduced, expired or withdrawn; only down to what is reserved + owed |
//! | `Reserve` | Available → Owed | `flags.pending` | a declaration accepted (接受申报): its taxes are held |
//! | `Post` | Available → Owed | `post_pending_transfer` | the declaration released (放行): the taxes become owed |
//! | `Void` | Available → Owed | `void_pending_transfer` | the declaration cancelled (撤销) before release: the hold is released |
//! | `Pay` | Owed → Available | posted | a monthly statement (or part of it) paid: the quota is restored |
//!
//! **Why no separate "Reserved" and "Paid" accounts.** In TigerBeetle's two-phase transfers a
//! pending transfer holds its amount in the *pending* totals of the same two accounts that its
//! post later moves posted amounts between; a reservation is thus Owed's pending credit (equal
//! to Available's pending debit), and a release that posts less than was reserved releases
//! the remainder in the same record. A separate Reserved account would need two records per
//! release (post, then move) and could not release a remainder atomically. Likewise a payment
//! restores the quota in one record, Owed → Available; the total paid is Owed's posted debits
//! ([`Ledger::paid`]).
//!
//! **Partial posts.** A `Post` moves *at most* the pending amount (1 ..= pending); the rest of
//! the reservation returns to Available. If the taxes at release are higher than reserved, the
//! caller reserves the difference first (a second `Reserve`, which checks the quota), so the
//! quota is only ever checked at reservation. Each pending transfer is posted or voided once,
//! as a whole (a `Void` releases all of it). Reservations do not time out by themselves (no
//! TigerBeetle `timeout`): the caller voids them on cancellation.
//!
//! # Invariants ([`Ledger::check_invariants`])
//!
//! Checked on the would-be state before each transfer is recorded; a refused transfer changes
//! nothing:
//! 1. total debits == total credits, pending and posted separately;
//! 2. available ≥ 0 (TigerBeetle's `debits_must_not_exceed_credits` on Available, pending
//!    debits included), owed ≥ 0, reserved ≥ 0, quota ≥ 0, no total negative;
//! 3. quota == available + reserved + owed;
//! 4. pending amounts only on Available's debits and Owed's credits, equal to the sum of the
//!    open reservations; each pending transfer resolved (posted or voided) at most once, by
//!    at most its amount.
//!
//! # Exactly once
//!
//! Transfer ids are chosen by the client (TigerBeetle's user-chosen ids): applying the same
//! transfer again answers [`Applied::AlreadyApplied`] and changes nothing; another transfer
//! under a used id is [`LedgerError::IdReused`]. Amounts are fen (分) in `i64`, never floats.
//!
//! The ledger is pure state for one enterprise: rebuild it from the stored transfers with
//! [`Ledger::from_transfers`], apply the new transfer, store it.
//!
//! # Snapshots
//!
//! Rebuilding costs one step per transfer ever made, and a large consolidated-tax enterprise
//! makes two per declaration, all year. [`Ledger::snapshot`] keeps what new transfers need —
//! the accounts, the open reservations and how many transfers were applied — and
//! [`Ledger::from_snapshot`] restores a ledger from it, checked against the balance
//! invariants; the caller stores the snapshot with the transfers that led to it. A restored
//! ledger holds only the transfers applied since ([`Ledger::transfers`]), so two answers
//! change for what happened before the snapshot: a post or void of a reservation resolved
//! earlier is [`LedgerError::PendingNotFound`] (still refused), and a transfer id used earlier
//! is not recognised — the store's unique transfer id refuses it instead.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An amount in CNY fen (分, 0.01 yuan).
pub type Fen = i64;

/// The three accounts of an enterprise's quota. See the [module documentation](self).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// The guarantor's commitment (担保额度): its net debit is the quota.
    Guarantee,
    /// Quota available (可用额度) for new declarations.
    Available,
    /// Taxes against the quota: pending credits are reserved for accepted, unreleased
    /// declarations; the posted balance is owed for released, unpaid declarations.
    Owed,
}

impl AccountKind {
    /// All kinds, in the order of [`Ledger::accounts`].
    pub const ALL: [AccountKind; 3] = [
        AccountKind::Guarantee,
        AccountKind::Available,
        AccountKind::Owed,
    ];

    fn index(self) -> usize {
        match self {
            AccountKind::Guarantee => 0,
            AccountKind::Available => 1,
            AccountKind::Owed => 2,
        }
    }
}

impl fmt::Display for AccountKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AccountKind::Guarantee => "guarantee",
            AccountKind::Available => "available",
            AccountKind::Owed => "owed",
        })
    }
}

/// An account: one enterprise's account of one kind.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub struct AccountId {
    pub enterprise: Uuid,
    pub kind: AccountKind,
}

impl AccountId {
    pub fn new(enterprise: Uuid, kind: AccountKind) -> AccountId {
        AccountId { enterprise, kind }
    }
}

/// An account's totals, as in TigerBeetle: every transfer adds to them, nothing subtracts
/// except the resolution of a pending transfer (which removes its pending amounts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Account {
    pub id: AccountId,
    pub debits_pending: Fen,
    pub debits_posted: Fen,
    pub credits_pending: Fen,
    pub credits_posted: Fen,
}

impl Account {
    fn empty(id: AccountId) -> Account {
        Account {
            id,
            debits_pending: 0,
            debits_posted: 0,
            credits_pending: 0,
            credits_posted: 0,
        }
    }
}

/// What a transfer does; fixes its accounts (see the table in the [module documentation](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    /// A guarantee approved or raised: Guarantee → Available.
    IncreaseQuota,
    /// A guarantee reduced, expired or withdrawn: Available → Guarantee.
    DecreaseQuota,
    /// Taxes of an accepted declaration held (pending): Available → Owed.
    Reserve,
    /// The reservation `pending_id` posted at release, for at most its amount.
    Post,
    /// The reservation `pending_id` voided at cancellation, all of it.
    Void,
    /// A statement paid, restoring the quota: Owed → Available.
    Pay,
}

impl TransferKind {
    /// The (debit, credit) accounts of this kind.
    pub fn accounts(self) -> (AccountKind, AccountKind) {
        match self {
            TransferKind::IncreaseQuota => (AccountKind::Guarantee, AccountKind::Available),
            TransferKind::DecreaseQuota => (AccountKind::Available, AccountKind::Guarantee),
            TransferKind::Reserve | TransferKind::Post | TransferKind::Void => {
                (AccountKind::Available, AccountKind::Owed)
            }
            TransferKind::Pay => (AccountKind::Owed, AccountKind::Available),
        }
    }

    /// Whether this kind resolves a pending transfer (and so needs `pending_id`).
    pub fn resolves_pending(self) -> bool {
        matches!(self, TransferKind::Post | TransferKind::Void)
    }
}

impl fmt::Display for TransferKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransferKind::IncreaseQuota => "increase_quota",
            TransferKind::DecreaseQuota => "decrease_quota",
            TransferKind::Reserve => "reserve",
            TransferKind::Post => "post",
            TransferKind::Void => "void",
            TransferKind::Pay => "pay",
        })
    }
}

/// One double-entry transfer. Immutable once applied; stored as a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Transfer {
    /// Chosen by the client; the same id is applied at most once.
    pub id: Uuid,
    pub kind: TransferKind,
    pub debit: AccountId,
    pub credit: AccountId,
    /// Fen, positive; for a `Void`, 0 (the whole reservation) or the reservation's amount.
    pub amount: Fen,
    /// For `Post` and `Void`: the `Reserve` transfer they resolve.
    pub pending_id: Option<Uuid>,
    /// What it is for: the guarantee (担保) number for quota changes, the declaration for
    /// reserve/post/void, the statement for a payment.
    pub reference: String,
    pub at: DateTime<Utc>,
}

impl Transfer {
    /// A transfer of `kind` between `enterprise`'s accounts for that kind.
    pub fn new(
        id: Uuid,
        kind: TransferKind,
        enterprise: Uuid,
        amount: Fen,
        pending_id: Option<Uuid>,
        reference: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Transfer {
        let (debit, credit) = kind.accounts();
        Transfer {
            id,
            kind,
            debit: AccountId::new(enterprise, debit),
            credit: AccountId::new(enterprise, credit),
            amount,
            pending_id,
            reference: reference.into(),
            at,
        }
    }

    /// A guarantee approved or raised by `amount`.
    pub fn increase_quota(
        id: Uuid,
        enterprise: Uuid,
        amount: Fen,
        guarantee_ref: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Transfer {
        Transfer::new(
            id,
            TransferKind::IncreaseQuota,
            enterprise,
            amount,
            None,
            guarantee_ref,
            at,
        )
    }

    /// A guarantee reduced by `amount` (refused below what is reserved + owed).
    pub fn decrease_quota(
        id: Uuid,
        enterprise: Uuid,
        amount: Fen,
        guarantee_ref: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Transfer {
        Transfer::new(
            id,
            TransferKind::DecreaseQuota,
            enterprise,
            amount,
            None,
            guarantee_ref,
            at,
        )
    }

    /// The taxes of an accepted declaration reserved (pending).
    pub fn reserve(
        id: Uuid,
        enterprise: Uuid,
        amount: Fen,
        declaration_ref: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Transfer {
        Transfer::new(
            id,
            TransferKind::Reserve,
            enterprise,
            amount,
            None,
            declaration_ref,
            at,
        )
    }

    /// The reservation `pending_id` posted at release: `amount` (≤ the reservation) becomes
    /// owed, the rest returns to the available quota.
    pub fn post(
        id: Uuid,
        enterprise: Uuid,
        pending_id: Uuid,
        amount: Fen,
        declaration_ref: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Transfer {
        Transfer::new(
            id,
            TransferKind::Post,
            enterprise,
            amount,
            Some(pending_id),
            declaration_ref,
            at,
        )
    }

    /// The reservation `pending_id` voided at cancellation (amount 0: all of it).
    pub fn void(
        id: Uuid,
        enterprise: Uuid,
        pending_id: Uuid,
        declaration_ref: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Transfer {
        Transfer::new(
            id,
            TransferKind::Void,
            enterprise,
            0,
            Some(pending_id),
            declaration_ref,
            at,
        )
    }

    /// A payment of `amount` on a statement, restoring that much quota.
    pub fn pay(
        id: Uuid,
        enterprise: Uuid,
        amount: Fen,
        statement_ref: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Transfer {
        Transfer::new(
            id,
            TransferKind::Pay,
            enterprise,
            amount,
            None,
            statement_ref,
            at,
        )
    }
}

/// The outcome of a successful [`Ledger::apply`].
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The transfer was recorded now.
    Recorded,
    /// The identical transfer had been recorded before; nothing changed.
    AlreadyApplied,
}

/// A reservation (pending `Reserve` transfer) and how it was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending {
    amount: Fen,
    resolved_by: Option<Uuid>,
}

/// What a ledger needs to take new transfers without its history (see
/// [Snapshots](self#snapshots)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerSnapshot {
    /// Guarantee, Available, Owed (in [`AccountKind::ALL`] order).
    pub accounts: [Account; 3],
    /// The open reservations: `Reserve` transfer id → amount.
    pub open: BTreeMap<Uuid, Fen>,
    /// How many transfers were applied to reach this state.
    pub applied: u64,
}

/// The quota ledger of one enterprise: its accounts and the transfers applied, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger {
    enterprise: Uuid,
    /// The state the held transfers start from: empty for a ledger opened or rebuilt from
    /// all its transfers, the snapshot for one restored from a snapshot.
    base: LedgerSnapshot,
    /// Indexed by [`AccountKind::index`].
    accounts: [Account; 3],
    transfers: Vec<Transfer>,
    by_id: HashMap<Uuid, usize>,
    pendings: BTreeMap<Uuid, Pending>,
    /// The sum of the open reservations, kept as they open and close (checked against
    /// Owed's pending credits on every transfer, recomputed by `check_invariants`).
    open_total: Fen,
}

impl Ledger {
    /// An empty ledger (quota 0) for `enterprise`.
    pub fn open(enterprise: Uuid) -> Ledger {
        let accounts = AccountKind::ALL.map(|k| Account::empty(AccountId::new(enterprise, k)));
        Ledger {
            enterprise,
            base: LedgerSnapshot {
                accounts,
                open: BTreeMap::new(),
                applied: 0,
            },
            accounts,
            transfers: Vec::new(),
            by_id: HashMap::new(),
            pendings: BTreeMap::new(),
            open_total: 0,
        }
    }

    /// The ledger rebuilt from stored transfers, applied in order (identical repeats are
    /// ignored). Fails on the first transfer that would not apply: stored rows that break an
    /// invariant are a corruption to report, not to paper over.
    pub fn from_transfers(
        enterprise: Uuid,
        transfers: impl IntoIterator<Item = Transfer>,
    ) -> Result<Ledger, LedgerError> {
        let mut ledger = Ledger::open(enterprise);
        for t in transfers {
            let _ = ledger.apply(t)?;
        }
        Ok(ledger)
    }

    /// The ledger restored from a [snapshot](Ledger::snapshot). The snapshot is checked: its
    /// accounts must be `enterprise`'s in order, its open reservations positive and summing to
    /// what is reserved, and every balance invariant must hold — a snapshot that breaks one is
    /// a corruption to report ([`LedgerError::InvariantBroken`]).
    pub fn from_snapshot(
        enterprise: Uuid,
        snapshot: LedgerSnapshot,
    ) -> Result<Ledger, LedgerError> {
        for (a, kind) in snapshot.accounts.iter().zip(AccountKind::ALL) {
            if a.id != AccountId::new(enterprise, kind) {
                return Err(broken(
                    "snapshot",
                    format!(
                        "account {} {} is not {enterprise}'s {kind}",
                        a.id.enterprise, a.id.kind
                    ),
                ));
            }
        }
        if let Some((id, amount)) = snapshot.open.iter().find(|(_, a)| **a <= 0) {
            return Err(broken(
                "snapshot",
                format!("open reservation {id} of {amount} fen is not positive"),
            ));
        }
        let open_total = snapshot
            .open
            .values()
            .try_fold(0, |acc: Fen, a| add(acc, *a))?;
        check_balances(&snapshot.accounts, open_total)?;
        Ok(Ledger {
            enterprise,
            accounts: snapshot.accounts,
            transfers: Vec::new(),
            by_id: HashMap::new(),
            pendings: snapshot
                .open
                .iter()
                .map(|(id, amount)| {
                    (
                        *id,
                        Pending {
                            amount: *amount,
                            resolved_by: None,
                        },
                    )
                })
                .collect(),
            open_total,
            base: snapshot,
        })
    }

    /// What [`Ledger::from_snapshot`] needs to go on from the current state.
    pub fn snapshot(&self) -> LedgerSnapshot {
        LedgerSnapshot {
            accounts: self.accounts,
            open: self
                .pendings
                .iter()
                .filter(|(_, p)| p.resolved_by.is_none())
                .map(|(id, p)| (*id, p.amount))
                .collect(),
            applied: self.applied(),
        }
    }

    /// How many transfers were applied in all, before the snapshot (if restored from one)
    /// and since.
    pub fn applied(&self) -> u64 {
        self.base.applied + self.transfers.len() as u64
    }

    pub fn enterprise(&self) -> Uuid {
        self.enterprise
    }

    /// Applies `t` exactly once. The same id with the same content again →
    /// `Ok(AlreadyApplied)`; the same id with other content → [`LedgerError::IdReused`]. Every
    /// rule and invariant is checked on the would-be state first: on error nothing changes.
    pub fn apply(&mut self, t: Transfer) -> Result<Applied, LedgerError> {
        if let Some(&i) = self.by_id.get(&t.id) {
            return if self.transfers.get(i) == Some(&t) {
                Ok(Applied::AlreadyApplied)
            } else {
                Err(LedgerError::IdReused { id: t.id })
            };
        }
        let (accounts, pending_change) = self.next_state(&t)?;
        let open_total = match pending_change {
            PendingChange::None => self.open_total,
            PendingChange::Open { amount } => add(self.open_total, amount)?,
            PendingChange::Resolve { amount, .. } => sub(self.open_total, amount)?,
        };
        check_balances(&accounts, open_total)?;
        // Commit: nothing below can fail.
        self.accounts = accounts;
        self.open_total = open_total;
        match pending_change {
            PendingChange::None => {}
            PendingChange::Open { amount } => {
                self.pendings.insert(
                    t.id,
                    Pending {
                        amount,
                        resolved_by: None,
                    },
                );
            }
            PendingChange::Resolve { pending_id, .. } => {
                if let Some(p) = self.pendings.get_mut(&pending_id) {
                    p.resolved_by = Some(t.id);
                }
            }
        }
        self.by_id.insert(t.id, self.transfers.len());
        self.transfers.push(t);
        Ok(Applied::Recorded)
    }

    /// Validates `t` against the current state and computes the accounts after it.
    fn next_state(&self, t: &Transfer) -> Result<([Account; 3], PendingChange), LedgerError> {
        for side in [t.debit, t.credit] {
            if side.enterprise != self.enterprise {
                return Err(LedgerError::WrongEnterprise {
                    ledger: self.enterprise,
                    transfer: side.enterprise,
                });
            }
        }
        let (debit, credit) = t.kind.accounts();
        if (t.debit.kind, t.credit.kind) != (debit, credit) {
            return Err(LedgerError::AccountsMismatch {
                kind: t.kind,
                debit: t.debit.kind,
                credit: t.credit.kind,
            });
        }
        if t.reference.trim().is_empty() {
            return Err(LedgerError::EmptyReference);
        }
        let pending = match (t.kind.resolves_pending(), t.pending_id) {
            (true, None) => return Err(LedgerError::PendingIdRequired { kind: t.kind }),
            (false, Some(_)) => return Err(LedgerError::PendingIdNotAllowed { kind: t.kind }),
            (false, None) => None,
            (true, Some(pending_id)) => {
                let p = self
                    .pendings
                    .get(&pending_id)
                    .ok_or(LedgerError::PendingNotFound { pending_id })?;
                if let Some(by) = p.resolved_by {
                    return Err(LedgerError::PendingAlreadyResolved { pending_id, by });
                }
                Some((pending_id, p.amount))
            }
        };
        match (t.kind, pending) {
            (TransferKind::Void, Some((_, p))) if t.amount != 0 && t.amount != p => {
                return Err(LedgerError::VoidAmountMismatch {
                    amount: t.amount,
                    pending: p,
                });
            }
            (TransferKind::Void, _) => {}
            _ if t.amount <= 0 => {
                return Err(LedgerError::AmountNotPositive { amount: t.amount });
            }
            _ => {}
        }

        let a = t.amount;
        let available = self.available();
        let mut next = self.accounts;
        let [g, av, ow] = &mut next;
        let change = match (t.kind, pending) {
            (TransferKind::IncreaseQuota, _) => {
                g.debits_posted = add(g.debits_posted, a)?;
                av.credits_posted = add(av.credits_posted, a)?;
                PendingChange::None
            }
            (TransferKind::DecreaseQuota, _) => {
                if a > available {
                    return Err(LedgerError::QuotaBelowUse {
                        quota_after: self.quota().saturating_sub(a),
                        in_use: self.reserved().saturating_add(self.owed()),
                    });
                }
                av.debits_posted = add(av.debits_posted, a)?;
                g.credits_posted = add(g.credits_posted, a)?;
                PendingChange::None
            }
            (TransferKind::Reserve, _) => {
                if a > available {
                    return Err(LedgerError::InsufficientQuota {
                        needed: a,
                        available,
                    });
                }
                av.debits_pending = add(av.debits_pending, a)?;
                ow.credits_pending = add(ow.credits_pending, a)?;
                PendingChange::Open { amount: a }
            }
            (TransferKind::Post, Some((pending_id, p))) => {
                if a > p {
                    return Err(LedgerError::ExceedsPending {
                        amount: a,
                        pending: p,
                    });
                }
                av.debits_pending = sub(av.debits_pending, p)?;
                ow.credits_pending = sub(ow.credits_pending, p)?;
                av.debits_posted = add(av.debits_posted, a)?;
                ow.credits_posted = add(ow.credits_posted, a)?;
                PendingChange::Resolve {
                    pending_id,
                    amount: p,
                }
            }
            (TransferKind::Void, Some((pending_id, p))) => {
                av.debits_pending = sub(av.debits_pending, p)?;
                ow.credits_pending = sub(ow.credits_pending, p)?;
                PendingChange::Resolve {
                    pending_id,
                    amount: p,
                }
            }
            (TransferKind::Pay, _) => {
                let owed = self.owed();
                if a > owed {
                    return Err(LedgerError::ExceedsOwed { amount: a, owed });
                }
                ow.debits_posted = add(ow.debits_posted, a)?;
                av.credits_posted = add(av.credits_posted, a)?;
                PendingChange::None
            }
            // Post and Void always carry a pending (checked above).
            (TransferKind::Post | TransferKind::Void, None) => {
                return Err(LedgerError::PendingIdRequired { kind: t.kind });
            }
        };
        Ok((next, change))
    }

    fn account(&self, kind: AccountKind) -> &Account {
        &self.accounts[kind.index()]
    }

    /// The quota (担保额度): the guarantees' net commitment.
    pub fn quota(&self) -> Fen {
        quota(&self.accounts)
    }

    /// Quota available for new declarations (可用额度); never negative.
    pub fn available(&self) -> Fen {
        available(&self.accounts)
    }

    /// Taxes reserved for accepted, unreleased declarations.
    pub fn reserved(&self) -> Fen {
        reserved(&self.accounts)
    }

    /// Taxes of released declarations not yet paid.
    pub fn owed(&self) -> Fen {
        owed(&self.accounts)
    }

    /// Taxes paid so far (all statements).
    pub fn paid(&self) -> Fen {
        self.account(AccountKind::Owed).debits_posted
    }

    /// The accounts: Guarantee, Available, Owed.
    pub fn accounts(&self) -> Vec<Account> {
        self.accounts.to_vec()
    }

    /// The transfers applied, in order — since the snapshot for a ledger restored from one.
    pub fn transfers(&self) -> &[Transfer] {
        &self.transfers
    }

    /// The transfer with this id, if applied.
    pub fn transfer(&self, id: Uuid) -> Option<&Transfer> {
        self.by_id.get(&id).and_then(|&i| self.transfers.get(i))
    }

    /// The reservations neither posted nor voided, in the order they were made (those among
    /// [`Ledger::transfers`]: a ledger restored from a snapshot lists only the newer ones).
    pub fn open_reservations(&self) -> impl Iterator<Item = &Transfer> + '_ {
        self.transfers.iter().filter(|t| {
            t.kind == TransferKind::Reserve
                && self
                    .pendings
                    .get(&t.id)
                    .is_some_and(|p| p.resolved_by.is_none())
        })
    }

    /// The transfer that changes the quota to `new_quota` (an increase or a decrease), or
    /// `None` when it already is. A decrease below reserved + owed is refused when applied.
    pub fn change_quota_to(
        &self,
        id: Uuid,
        new_quota: Fen,
        guarantee_ref: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Option<Transfer> {
        let current = self.quota();
        if new_quota > current {
            let amount = new_quota.checked_sub(current)?;
            Some(Transfer::increase_quota(
                id,
                self.enterprise,
                amount,
                guarantee_ref,
                at,
            ))
        } else if new_quota < current {
            let amount = current.checked_sub(new_quota)?;
            Some(Transfer::decrease_quota(
                id,
                self.enterprise,
                amount,
                guarantee_ref,
                at,
            ))
        } else {
            None
        }
    }

    /// Sum of the open reservations' amounts.
    fn open_reserved(&self) -> Result<Fen, LedgerError> {
        self.pendings
            .values()
            .filter(|p| p.resolved_by.is_none())
            .try_fold(0, |acc: Fen, p| add(acc, p.amount))
    }

    /// Every invariant (see the [module documentation](self)), checked in full: the balances
    /// are rebuilt from the transfers (each of which must have been valid when applied),
    /// starting from the snapshot for a restored ledger, and compared, then the balance
    /// invariants are checked on the current state.
    pub fn check_invariants(&self) -> Result<(), LedgerError> {
        let mut rebuilt = Ledger::from_snapshot(self.enterprise, self.base.clone())?;
        for t in &self.transfers {
            let _ = rebuilt
                .apply(t.clone())
                .map_err(|e| broken("replay", format!("the transfers do not replay: {e}")))?;
        }
        if rebuilt.accounts != self.accounts {
            return Err(broken(
                "replay",
                "the balances differ from the transfers' sums".to_owned(),
            ));
        }
        if rebuilt.pendings != self.pendings {
            return Err(broken(
                "pending",
                "the pending transfers' resolutions differ from the transfers".to_owned(),
            ));
        }
        if self.transfers.len() != self.by_id.len() {
            return Err(broken(
                "exactly_once",
                "a transfer id appears twice".to_owned(),
            ));
        }
        for p in self.pendings.values() {
            if let Some(by) = p.resolved_by {
                let resolver = self
                    .transfer(by)
                    .ok_or_else(|| broken("pending", format!("resolver {by} is not recorded")))?;
                if resolver.kind == TransferKind::Post && resolver.amount > p.amount {
                    return Err(broken(
                        "pending",
                        format!("post {by} exceeds its reservation"),
                    ));
                }
            }
        }
        let open = self.open_reserved()?;
        if open != self.open_total {
            return Err(broken(
                "pending",
                format!(
                    "open reservations {open} ≠ running total {}",
                    self.open_total
                ),
            ));
        }
        check_balances(&self.accounts, open)
    }
}

/// How a transfer changes the set of open reservations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PendingChange {
    None,
    Open { amount: Fen },
    Resolve { pending_id: Uuid, amount: Fen },
}

fn quota(accounts: &[Account; 3]) -> Fen {
    let g = &accounts[AccountKind::Guarantee.index()];
    g.debits_posted.saturating_sub(g.credits_posted)
}

fn available(accounts: &[Account; 3]) -> Fen {
    let a = &accounts[AccountKind::Available.index()];
    a.credits_posted
        .saturating_sub(a.debits_posted)
        .saturating_sub(a.debits_pending)
}

fn reserved(accounts: &[Account; 3]) -> Fen {
    accounts[AccountKind::Owed.index()].credits_pending
}

fn owed(accounts: &[Account; 3]) -> Fen {
    let o = &accounts[AccountKind::Owed.index()];
    o.credits_posted.saturating_sub(o.debits_posted)
}

/// The balance invariants on `accounts`, whose open reservations sum to `open`.
fn check_balances(accounts: &[Account; 3], open: Fen) -> Result<(), LedgerError> {
    let [g, av, ow] = accounts;
    let sum = |f: fn(&Account) -> Fen| accounts.iter().try_fold(0, |acc: Fen, a| add(acc, f(a)));
    if accounts.iter().any(|a| {
        a.debits_pending < 0 || a.debits_posted < 0 || a.credits_pending < 0 || a.credits_posted < 0
    }) {
        return Err(broken("non_negative", "a total is negative".to_owned()));
    }
    if sum(|a| a.debits_posted)? != sum(|a| a.credits_posted)? {
        return Err(broken(
            "double_entry",
            "posted debits ≠ posted credits".to_owned(),
        ));
    }
    if sum(|a| a.debits_pending)? != sum(|a| a.credits_pending)? {
        return Err(broken(
            "double_entry",
            "pending debits ≠ pending credits".to_owned(),
        ));
    }
    if g.debits_pending != 0
        || g.credits_pending != 0
        || av.credits_pending != 0
        || ow.debits_pending != 0
    {
        return Err(broken(
            "pending",
            "pending amounts outside Available's debits and Owed's credits".to_owned(),
        ));
    }
    if ow.credits_pending != open {
        return Err(broken(
            "pending",
            format!("reserved {} ≠ open reservations {open}", ow.credits_pending),
        ));
    }
    // Exact balances (no saturation) for the sign checks.
    let quota = sub(g.debits_posted, g.credits_posted)?;
    let available = sub(sub(av.credits_posted, av.debits_posted)?, av.debits_pending)?;
    let owed = sub(ow.credits_posted, ow.debits_posted)?;
    let reserved = ow.credits_pending;
    if available < 0 {
        return Err(broken("available", format!("available {available} < 0")));
    }
    if owed < 0 {
        return Err(broken("owed", format!("owed {owed} < 0")));
    }
    if quota < 0 {
        return Err(broken("quota", format!("quota {quota} < 0")));
    }
    if quota != add(add(available, reserved)?, owed)? {
        return Err(broken(
            "quota",
            format!("quota {quota} ≠ available {available} + reserved {reserved} + owed {owed}"),
        ));
    }
    Ok(())
}

fn add(a: Fen, b: Fen) -> Result<Fen, LedgerError> {
    a.checked_add(b).ok_or(LedgerError::Overflow)
}

fn sub(a: Fen, b: Fen) -> Result<Fen, LedgerError> {
    a.checked_sub(b).ok_or(LedgerError::Overflow)
}

fn broken(invariant: &'static str, detail: String) -> LedgerError {
    LedgerError::InvariantBroken { invariant, detail }
}

/// Why a transfer was refused (or the ledger is inconsistent). [`LedgerError::rule`] gives a
/// stable name for problem reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// The declaration's taxes exceed the available quota: it falls back to
    /// pay-before-release (or the enterprise raises its guarantee).
    #[error("insufficient quota: {needed} fen needed, {available} fen available")]
    InsufficientQuota { needed: Fen, available: Fen },
    /// The quota cannot go below what is reserved and owed.
    #[error("the quota cannot be reduced to {quota_after} fen: {in_use} fen are reserved or owed")]
    QuotaBelowUse { quota_after: Fen, in_use: Fen },
    /// A payment larger than the taxes owed.
    #[error("payment of {amount} fen exceeds the {owed} fen owed")]
    ExceedsOwed { amount: Fen, owed: Fen },
    /// The id was used by a different transfer.
    #[error("transfer id {id} was already used for a different transfer")]
    IdReused { id: Uuid },
    /// The transfer's accounts belong to another enterprise.
    #[error("transfer for enterprise {transfer} applied to the ledger of {ledger}")]
    WrongEnterprise { ledger: Uuid, transfer: Uuid },
    /// The accounts do not match the transfer kind.
    #[error("a {kind} transfer cannot move from {debit} to {credit}")]
    AccountsMismatch {
        kind: TransferKind,
        debit: AccountKind,
        credit: AccountKind,
    },
    /// Amounts are positive fen (a void's may be 0, meaning the whole reservation).
    #[error("amount {amount} fen is not positive")]
    AmountNotPositive { amount: Fen },
    /// Every transfer names what it is for.
    #[error("the reference (guarantee, declaration or statement) is empty")]
    EmptyReference,
    /// A post or void without `pending_id`.
    #[error("a {kind} transfer needs the pending transfer it resolves")]
    PendingIdRequired { kind: TransferKind },
    /// `pending_id` on a transfer that resolves nothing.
    #[error("a {kind} transfer cannot resolve a pending transfer")]
    PendingIdNotAllowed { kind: TransferKind },
    /// `pending_id` names no reservation of this ledger.
    #[error("no pending transfer {pending_id}")]
    PendingNotFound { pending_id: Uuid },
    /// The reservation was already posted or voided.
    #[error("pending transfer {pending_id} was already resolved by {by}")]
    PendingAlreadyResolved { pending_id: Uuid, by: Uuid },
    /// A post for more than was reserved: reserve the difference first.
    #[error("post of {amount} fen exceeds the {pending} fen reserved")]
    ExceedsPending { amount: Fen, pending: Fen },
    /// A void whose amount is neither 0 nor the reservation's.
    #[error("void of {amount} fen: give 0 or the {pending} fen reserved")]
    VoidAmountMismatch { amount: Fen, pending: Fen },
    /// Totals beyond `i64` fen.
    #[error("amount overflow")]
    Overflow,
    /// An invariant does not hold (a bug or corrupted rows; never from a valid transfer).
    #[error("ledger invariant `{invariant}` broken: {detail}")]
    InvariantBroken {
        invariant: &'static str,
        detail: String,
    },
}

impl LedgerError {
    /// A stable, machine-readable name of the rule that failed.
    pub fn rule(&self) -> &'static str {
        match self {
            LedgerError::InsufficientQuota { .. } => "ledger.insufficient_quota",
            LedgerError::QuotaBelowUse { .. } => "ledger.quota_below_use",
            LedgerError::ExceedsOwed { .. } => "ledger.exceeds_owed",
            LedgerError::IdReused { .. } => "ledger.id_reused",
            LedgerError::WrongEnterprise { .. } => "ledger.wrong_enterprise",
            LedgerError::AccountsMismatch { .. } => "ledger.accounts_mismatch",
            LedgerError::AmountNotPositive { .. } => "ledger.amount_not_positive",
            LedgerError::EmptyReference => "ledger.empty_reference",
            LedgerError::PendingIdRequired { .. } => "ledger.pending_id_required",
            LedgerError::PendingIdNotAllowed { .. } => "ledger.pending_id_not_allowed",
            LedgerError::PendingNotFound { .. } => "ledger.pending_not_found",
            LedgerError::PendingAlreadyResolved { .. } => "ledger.pending_already_resolved",
            LedgerError::ExceedsPending { .. } => "ledger.exceeds_pending",
            LedgerError::VoidAmountMismatch { .. } => "ledger.void_amount_mismatch",
            LedgerError::Overflow => "ledger.overflow",
            LedgerError::InvariantBroken { .. } => "ledger.invariant_broken",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ENT: Uuid = Uuid::from_u128(0xE);

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_740_000_000, 0).expect("valid time")
    }

    fn balances(l: &Ledger) -> (Fen, Fen, Fen, Fen) {
        (l.quota(), l.available(), l.reserved(), l.owed())
    }

    fn ok(l: &mut Ledger, t: Transfer) {
        assert_eq!(l.apply(t), Ok(Applied::Recorded));
        assert_eq!(l.check_invariants(), Ok(()));
    }

    /// Refused with `rule`, and nothing changed.
    fn refused(l: &mut Ledger, t: Transfer, rule: &str) -> LedgerError {
        let before = l.clone();
        let e = l.apply(t).expect_err("refused");
        assert_eq!(e.rule(), rule, "{e}");
        assert_eq!(*l, before);
        e
    }

    #[test]
    fn a_month_of_consolidated_tax() {
        let mut l = Ledger::open(ENT);
        // Guarantee of CNY 1,000,000.00 approved.
        ok(
            &mut l,
            Transfer::increase_quota(id(1), ENT, 100_000_000, "G-1", at()),
        );
        assert_eq!(balances(&l), (100_000_000, 100_000_000, 0, 0));
        // Three declarations accepted.
        ok(
            &mut l,
            Transfer::reserve(id(2), ENT, 30_000_000, "D-1", at()),
        );
        ok(
            &mut l,
            Transfer::reserve(id(3), ENT, 20_000_000, "D-2", at()),
        );
        ok(
            &mut l,
            Transfer::reserve(id(4), ENT, 10_000_000, "D-3", at()),
        );
        assert_eq!(balances(&l), (100_000_000, 40_000_000, 60_000_000, 0));
        assert_eq!(l.open_reservations().count(), 3);
        // D-1 released in full; D-2 released with lower taxes (the rest returns); D-3 cancelled.
        ok(
            &mut l,
            Transfer::post(id(5), ENT, id(2), 30_000_000, "D-1", at()),
        );
        ok(
            &mut l,
            Transfer::post(id(6), ENT, id(3), 15_000_000, "D-2", at()),
        );
        ok(&mut l, Transfer::void(id(7), ENT, id(4), "D-3", at()));
        assert_eq!(balances(&l), (100_000_000, 55_000_000, 0, 45_000_000));
        assert_eq!(l.open_reservations().count(), 0);
        // The statement is paid: the quota is restored.
        ok(
            &mut l,
            Transfer::pay(id(8), ENT, 45_000_000, "S-2025-01", at()),
        );
        assert_eq!(balances(&l), (100_000_000, 100_000_000, 0, 0));
        assert_eq!(l.paid(), 45_000_000);
        // The guarantee expires.
        let expire = l.change_quota_to(id(9), 0, "G-1", at()).expect("a change");
        assert_eq!(expire.kind, TransferKind::DecreaseQuota);
        ok(&mut l, expire);
        assert_eq!(balances(&l), (0, 0, 0, 0));
        assert_eq!(l.accounts().len(), 3);
        // Every total agrees with TigerBeetle's bookkeeping.
        let [g, av, ow] = [l.accounts()[0], l.accounts()[1], l.accounts()[2]];
        assert_eq!(
            (g.debits_posted, g.credits_posted),
            (100_000_000, 100_000_000)
        );
        assert_eq!(
            (av.debits_posted, av.credits_posted, av.debits_pending),
            (145_000_000, 145_000_000, 0)
        );
        assert_eq!(
            (ow.debits_posted, ow.credits_posted),
            (45_000_000, 45_000_000)
        );
    }

    #[test]
    fn quota_checks() {
        let mut l = Ledger::open(ENT);
        ok(
            &mut l,
            Transfer::increase_quota(id(1), ENT, 1_000, "G", at()),
        );
        let e = refused(
            &mut l,
            Transfer::reserve(id(2), ENT, 1_001, "D", at()),
            "ledger.insufficient_quota",
        );
        assert_eq!(
            e,
            LedgerError::InsufficientQuota {
                needed: 1_001,
                available: 1_000
            }
        );
        ok(&mut l, Transfer::reserve(id(3), ENT, 600, "D", at()));
        ok(&mut l, Transfer::post(id(4), ENT, id(3), 500, "D", at()));
        ok(&mut l, Transfer::reserve(id(5), ENT, 300, "D2", at()));
        // Reserved 300 + owed 500: the quota can go down to 800, not below.
        let e = refused(
            &mut l,
            Transfer::decrease_quota(id(6), ENT, 201, "G", at()),
            "ledger.quota_below_use",
        );
        assert_eq!(
            e,
            LedgerError::QuotaBelowUse {
                quota_after: 799,
                in_use: 800
            }
        );
        ok(&mut l, Transfer::decrease_quota(id(7), ENT, 200, "G", at()));
        assert_eq!(balances(&l), (800, 0, 300, 500));
        assert_eq!(l.change_quota_to(id(8), 800, "G", at()), None);
        refused(
            &mut l,
            Transfer::reserve(id(9), ENT, 1, "D3", at()),
            "ledger.insufficient_quota",
        );
        // Paying more than owed is refused.
        let e = refused(
            &mut l,
            Transfer::pay(id(10), ENT, 501, "S", at()),
            "ledger.exceeds_owed",
        );
        assert_eq!(
            e,
            LedgerError::ExceedsOwed {
                amount: 501,
                owed: 500
            }
        );
    }

    #[test]
    fn pending_rules() {
        let mut l = Ledger::open(ENT);
        ok(
            &mut l,
            Transfer::increase_quota(id(1), ENT, 1_000, "G", at()),
        );
        ok(&mut l, Transfer::reserve(id(2), ENT, 400, "D", at()));
        refused(
            &mut l,
            Transfer::post(id(3), ENT, id(2), 401, "D", at()),
            "ledger.exceeds_pending",
        );
        refused(
            &mut l,
            Transfer::post(id(3), ENT, id(2), 0, "D", at()),
            "ledger.amount_not_positive",
        );
        refused(
            &mut l,
            Transfer::post(id(3), ENT, id(99), 1, "D", at()),
            "ledger.pending_not_found",
        );
        // Only reservations can be resolved.
        refused(
            &mut l,
            Transfer::void(id(3), ENT, id(1), "D", at()),
            "ledger.pending_not_found",
        );
        let mut void = Transfer::void(id(3), ENT, id(2), "D", at());
        void.amount = 399;
        refused(&mut l, void, "ledger.void_amount_mismatch");
        let mut void = Transfer::void(id(3), ENT, id(2), "D", at());
        void.amount = 400;
        ok(&mut l, void);
        // Resolved once only.
        let e = refused(
            &mut l,
            Transfer::post(id(4), ENT, id(2), 400, "D", at()),
            "ledger.pending_already_resolved",
        );
        assert_eq!(
            e,
            LedgerError::PendingAlreadyResolved {
                pending_id: id(2),
                by: id(3)
            }
        );
        refused(
            &mut l,
            Transfer::void(id(4), ENT, id(2), "D", at()),
            "ledger.pending_already_resolved",
        );
        assert_eq!(balances(&l), (1_000, 1_000, 0, 0));
    }

    #[test]
    fn malformed_transfers() {
        let mut l = Ledger::open(ENT);
        ok(
            &mut l,
            Transfer::increase_quota(id(1), ENT, 1_000, "G", at()),
        );
        refused(
            &mut l,
            Transfer::reserve(id(2), ENT, -5, "D", at()),
            "ledger.amount_not_positive",
        );
        refused(
            &mut l,
            Transfer::reserve(id(2), ENT, 0, "D", at()),
            "ledger.amount_not_positive",
        );
        refused(
            &mut l,
            Transfer::reserve(id(2), ENT, 5, "  ", at()),
            "ledger.empty_reference",
        );
        refused(
            &mut l,
            Transfer::reserve(id(2), id(0xF), 5, "D", at()),
            "ledger.wrong_enterprise",
        );
        let mut t = Transfer::reserve(id(2), ENT, 5, "D", at());
        t.credit.kind = AccountKind::Guarantee;
        refused(&mut l, t, "ledger.accounts_mismatch");
        let mut t = Transfer::reserve(id(2), ENT, 5, "D", at());
        t.pending_id = Some(id(1));
        refused(&mut l, t, "ledger.pending_id_not_allowed");
        let mut t = Transfer::post(id(2), ENT, id(1), 5, "D", at());
        t.pending_id = None;
        refused(&mut l, t, "ledger.pending_id_required");
        refused(
            &mut l,
            Transfer::increase_quota(id(2), ENT, Fen::MAX, "G", at()),
            "ledger.overflow",
        );
    }

    #[test]
    fn exactly_once() {
        let mut l = Ledger::open(ENT);
        let t = Transfer::increase_quota(id(1), ENT, 1_000, "G", at());
        ok(&mut l, t.clone());
        let before = l.clone();
        assert_eq!(l.apply(t.clone()), Ok(Applied::AlreadyApplied));
        assert_eq!(l, before);
        let mut other = t;
        other.amount = 2_000;
        let e = refused(&mut l, other, "ledger.id_reused");
        assert_eq!(e, LedgerError::IdReused { id: id(1) });
        // An id is unique across kinds too.
        refused(
            &mut l,
            Transfer::reserve(id(1), ENT, 1, "D", at()),
            "ledger.id_reused",
        );
    }

    #[test]
    fn rebuilt_from_rows_and_serialised() {
        let mut l = Ledger::open(ENT);
        ok(
            &mut l,
            Transfer::increase_quota(id(1), ENT, 1_000, "G", at()),
        );
        ok(&mut l, Transfer::reserve(id(2), ENT, 700, "D", at()));
        ok(&mut l, Transfer::post(id(3), ENT, id(2), 650, "D", at()));
        ok(&mut l, Transfer::pay(id(4), ENT, 600, "S", at()));
        let json = serde_json::to_string(l.transfers()).expect("serialise");
        let rows: Vec<Transfer> = serde_json::from_str(&json).expect("deserialise");
        let rebuilt = Ledger::from_transfers(ENT, rows).expect("valid rows");
        assert_eq!(rebuilt, l);
        assert_eq!(balances(&rebuilt), (1_000, 950, 0, 50));
        // Rows that break a rule are reported, not absorbed.
        let bad = vec![Transfer::reserve(id(1), ENT, 1, "D", at())];
        assert_eq!(
            Ledger::from_transfers(ENT, bad).map(|_| ()),
            Err(LedgerError::InsufficientQuota {
                needed: 1,
                available: 0
            })
        );
        assert!(json.contains("\"kind\":\"increase_quota\""), "{json}");
    }

    #[test]
    fn restored_from_a_snapshot() {
        let mut l = Ledger::open(ENT);
        ok(
            &mut l,
            Transfer::increase_quota(id(1), ENT, 1_000, "G", at()),
        );
        ok(&mut l, Transfer::reserve(id(2), ENT, 700, "D-1", at()));
        ok(&mut l, Transfer::reserve(id(3), ENT, 200, "D-2", at()));
        ok(&mut l, Transfer::post(id(4), ENT, id(2), 650, "D-1", at()));
        let snapshot = l.snapshot();
        assert_eq!(snapshot.applied, 4);
        assert_eq!(snapshot.open, BTreeMap::from([(id(3), 200)]));
        let mut r = Ledger::from_snapshot(ENT, snapshot.clone()).expect("valid snapshot");
        assert_eq!(balances(&r), balances(&l));
        assert!(r.transfers().is_empty());
        // The open reservation posts; the resolved one is refused; quota is checked as before.
        ok(&mut r, Transfer::post(id(5), ENT, id(3), 200, "D-2", at()));
        refused(
            &mut r,
            Transfer::void(id(6), ENT, id(2), "D-1", at()),
            "ledger.pending_not_found",
        );
        refused(
            &mut r,
            Transfer::reserve(id(7), ENT, 151, "D-3", at()),
            "ledger.insufficient_quota",
        );
        assert_eq!(r.applied(), 5);
        assert_eq!(balances(&r), (1_000, 150, 0, 850));
        // A snapshot whose balances do not hold, or of another enterprise, is refused.
        let mut bad = snapshot.clone();
        bad.open.insert(id(9), 1);
        assert_eq!(
            Ledger::from_snapshot(ENT, bad)
                .map(|_| ())
                .map_err(|e| e.rule()),
            Err("ledger.invariant_broken")
        );
        let mut bad = snapshot.clone();
        bad.open.insert(id(3), -200);
        assert!(Ledger::from_snapshot(ENT, bad).is_err());
        assert!(Ledger::from_snapshot(id(0xF), snapshot).is_err());
    }

    #[test]
    fn check_invariants_detects_tampering() {
        let mut l = Ledger::open(ENT);
        ok(
            &mut l,
            Transfer::increase_quota(id(1), ENT, 1_000, "G", at()),
        );
        let mut tampered = l.clone();
        tampered.accounts[AccountKind::Available.index()].credits_posted += 1;
        let e = tampered.check_invariants().expect_err("broken");
        assert_eq!(e.rule(), "ledger.invariant_broken");
    }

    /// One step of a random history. Indices pick among earlier transfers.
    #[derive(Debug, Clone)]
    enum Op {
        Increase(Fen),
        Decrease(Fen),
        Reserve(Fen),
        /// A percentage of the reservation (over 100: too much).
        Post(usize, Fen),
        Void(usize),
        /// A percentage of what is owed (over 100: too much).
        Pay(Fen),
        Replay(usize),
        Reuse(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        let amount = || -10..2_000_i64;
        prop_oneof![
            2 => amount().prop_map(Op::Increase),
            1 => amount().prop_map(Op::Decrease),
            4 => amount().prop_map(Op::Reserve),
            3 => (any::<usize>(), 0..=110_i64).prop_map(|(i, pct)| Op::Post(i, pct)),
            2 => any::<usize>().prop_map(Op::Void),
            2 => (0..=110_i64).prop_map(Op::Pay),
            1 => any::<usize>().prop_map(Op::Replay),
            1 => any::<usize>().prop_map(Op::Reuse),
        ]
    }

    /// An independent model of the rules: quota, open reservations, owed.
    #[derive(Default)]
    struct Model {
        quota: Fen,
        open: BTreeMap<Uuid, Fen>,
        owed: Fen,
    }

    impl Model {
        fn reserved(&self) -> Fen {
            self.open.values().sum()
        }
        fn available(&self) -> Fen {
            self.quota - self.reserved() - self.owed
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Random histories of reserve / post / void / pay / quota changes, replays and reused
        /// ids: the ledger agrees with the model, every invariant holds after every step,
        /// available is never negative, a replay is applied once, and a refused transfer
        /// leaves the state unchanged. A ledger restored at step `split` from the stored
        /// snapshot takes and refuses the same new transfers and ends in the same state.
        #[test]
        fn random_histories_keep_every_invariant(
            ops in prop::collection::vec(op(), 1..60),
            split in 0..60_usize,
        ) {
            let mut l = Ledger::open(ENT);
            let mut m = Model::default();
            let mut reserves: Vec<(Uuid, Fen)> = Vec::new();
            let mut restored: Option<Ledger> = None;
            for (n, op) in ops.into_iter().enumerate() {
                let tid = id(1_000 + n as u128);
                if n == split {
                    let stored = serde_json::to_string(&l.snapshot()).expect("serialise");
                    let snapshot = serde_json::from_str(&stored).expect("deserialise");
                    restored = Some(Ledger::from_snapshot(ENT, snapshot).expect("valid snapshot"));
                }
                let before = l.clone();
                let (t, expect_ok) = match op {
                    Op::Increase(a) => (Transfer::increase_quota(tid, ENT, a, "G", at()), a > 0),
                    Op::Decrease(a) => (
                        Transfer::decrease_quota(tid, ENT, a, "G", at()),
                        a > 0 && a <= m.available(),
                    ),
                    Op::Reserve(a) => (
                        Transfer::reserve(tid, ENT, a, format!("D-{n}"), at()),
                        a > 0 && a <= m.available(),
                    ),
                    Op::Post(i, pct) => {
                        let Some(&(r, reserved)) = reserves.get(i % reserves.len().max(1)) else { continue };
                        let a = reserved * pct / 100;
                        let fits = m.open.get(&r).is_some_and(|&p| a > 0 && a <= p);
                        (Transfer::post(tid, ENT, r, a, "D", at()), fits)
                    }
                    Op::Void(i) => {
                        let Some(&(r, _)) = reserves.get(i % reserves.len().max(1)) else { continue };
                        (Transfer::void(tid, ENT, r, "D", at()), m.open.contains_key(&r))
                    }
                    Op::Pay(pct) => {
                        let a = m.owed * pct / 100;
                        (Transfer::pay(tid, ENT, a, "S", at()), a > 0 && a <= m.owed)
                    }
                    Op::Replay(i) => {
                        let Some(t) = l.transfers().get(i % l.transfers().len().max(1)).cloned() else { continue };
                        prop_assert_eq!(l.apply(t), Ok(Applied::AlreadyApplied));
                        prop_assert_eq!(&l, &before);
                        continue;
                    }
                    Op::Reuse(i) => {
                        let Some(mut t) = l.transfers().get(i % l.transfers().len().max(1)).cloned() else { continue };
                        t.reference.push('x');
                        prop_assert_eq!(l.apply(t.clone()), Err(LedgerError::IdReused { id: t.id }));
                        prop_assert_eq!(&l, &before);
                        continue;
                    }
                };
                let result = l.apply(t.clone());
                prop_assert_eq!(result.is_ok(), expect_ok, "{:?} → {:?}", t, result);
                if let Some(r) = restored.as_mut() {
                    prop_assert_eq!(r.apply(t.clone()).is_ok(), expect_ok, "restored: {:?}", t);
                    prop_assert_eq!(r.snapshot(), l.snapshot());
                }
                if result.is_ok() {
                    match t.kind {
                        TransferKind::IncreaseQuota => m.quota += t.amount,
                        TransferKind::DecreaseQuota => m.quota -= t.amount,
                        TransferKind::Reserve => {
                            m.open.insert(t.id, t.amount);
                            reserves.push((t.id, t.amount));
                        }
                        TransferKind::Post => {
                            m.open.remove(&t.pending_id.expect("post has a pending id"));
                            m.owed += t.amount;
                        }
                        TransferKind::Void => {
                            m.open.remove(&t.pending_id.expect("void has a pending id"));
                        }
                        TransferKind::Pay => m.owed -= t.amount,
                    }
                } else {
                    prop_assert_eq!(&l, &before);
                }
                prop_assert_eq!(l.check_invariants(), Ok(()));
                prop_assert!(l.available() >= 0);
                prop_assert_eq!(
                    balances(&l),
                    (m.quota, m.available(), m.reserved(), m.owed)
                );
                prop_assert_eq!(l.quota(), l.available() + l.reserved() + l.owed());
                prop_assert_eq!(l.open_reservations().count(), m.open.len());
            }
            // And the whole history replays to the same ledger.
            let rebuilt = Ledger::from_transfers(ENT, l.transfers().to_vec());
            prop_assert_eq!(rebuilt.as_ref(), Ok(&l));
            if let Some(r) = restored {
                prop_assert_eq!(r.check_invariants(), Ok(()));
                prop_assert_eq!(r.snapshot(), l.snapshot());
                prop_assert_eq!(r.applied(), l.transfers().len() as u64);
            }
        }
    }
}
