//! Dated seat changes, derived from reconciliation lines.
//!
//! Microsoft records a seat change as a *pair* of lines sharing a `ReferenceId`: a refund of
//! the old quantity and a charge for the new one (`addQuantity` 10 → 12 is a refund of 10
//! seats and a charge of 12). Other events have one side only. Lines are grouped by
//! `(ReferenceId, ChargeType)` and, within a group, by subscription and product (a full
//! upgrade keeps the subscription id but changes the product), then read as:
//!
//! | charge type | lines | seats before → after |
//! | --- | --- | --- |
//! | `new` | charge | known (else 0) → charged |
//! | `renew`, `cycleCharge`, `changeBillingPlan` | charge | known (else charged) → charged |
//! | any | refund + charge | refunded → charged |
//! | `addQuantity`, `removeQuantity` | one side only | warning; a lone charge is taken as the new quantity when the old one is known |
//! | `convert`, `moveQuantity` | refund only (the source) | known (else refunded) → known − refunded |
//! | `convert`, `moveQuantity` | charge only (the target) | known (else 0) → known + charged |
//! | `cancelImmediate` | refund | known (else refunded) → 0 |
//! | `customerCredit`, `extendTerm`, legacy types | | no seat change |
//!
//! A line with no amount (a trial, a free product) has no sign; it is taken as the side the
//! group lacks, or, in a `convert` with no signed line, a trial line is the side being left.
//! Lines that do not count seats (Azure, metered: billable quantity differs from quantity)
//! make no seat change. "Known" is the quantity after the subscription's previous change in
//! the files read.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::error::Warning;
use crate::mapping::normalize_id;
use crate::recon::{ChargeType, Direction, ReconLine};

/// A change in a subscription's seat count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatChange {
    /// Partner Center customer id (the customer's Entra tenant id).
    pub customer_id: String,
    pub customer_domain: Option<String>,
    /// NCE subscription id.
    pub subscription_id: String,
    /// Partner Center product and SKU, `ProductId:SkuId` (e.g. `CFQ7TTC0HL8W:0001`). The
    /// reconciliation file has no Graph SKU GUID; see
    /// [`crate::subscriptions::ReconSubscription::sku_guids`].
    pub sku_id: String,
    pub sku_name: Option<String>,
    /// `OrderDate` of the event.
    pub date: NaiveDate,
    pub quantity_before: u32,
    pub quantity_after: u32,
    pub reference_id: Option<String>,
    pub charge_type: ChargeType,
    /// The first line of the event, for tracing.
    pub file: String,
    pub line: Option<u64>,
}

impl SeatChange {
    /// Seats added (positive) or removed (negative).
    pub fn delta(&self) -> i64 {
        i64::from(self.quantity_after) - i64::from(self.quantity_before)
    }
}

/// Drop lines that repeat, in a later file, a line already read from an earlier one: the
/// billed and the unbilled reconciliation of the same month overlap. Repeats within one file
/// are kept (they can be genuine, e.g. two identical seat purchases).
pub(crate) fn drop_cross_file_duplicates(
    indexed: Vec<(usize, ReconLine)>,
    warnings: &mut Vec<Warning>,
) -> Vec<ReconLine> {
    let mut first_file: HashMap<String, usize> = HashMap::new();
    let mut dropped: HashMap<(String, String), u64> = HashMap::new();
    let mut names: HashMap<usize, String> = HashMap::new();
    let mut out = Vec::with_capacity(indexed.len());
    for (file_index, line) in indexed {
        names.entry(file_index).or_insert_with(|| line.file.clone());
        let key = duplicate_key(&line);
        match first_file.get(&key) {
            Some(&first) if first != file_index => {
                let first_name = names.get(&first).cloned().unwrap_or_default();
                *dropped.entry((line.file.clone(), first_name)).or_default() += 1;
            }
            Some(_) => out.push(line),
            None => {
                first_file.insert(key, file_index);
                out.push(line);
            }
        }
    }
    let mut dropped: Vec<_> = dropped.into_iter().collect();
    dropped.sort();
    for ((file, first), n) in dropped {
        warnings.push(Warning::file(
            file,
            format!("{n} line(s) repeat lines of {first} (billed and unbilled overlap?) and were left out"),
        ));
    }
    out
}

fn duplicate_key(l: &ReconLine) -> String {
    let opt = |d: &Option<rust_decimal::Decimal>| {
        d.map(|d| d.normalize().to_string()).unwrap_or_default()
    };
    format!(
        "{}|{}|{}|{}|{}|{:?}|{}|{}|{}|{:?}|{:?}|{}",
        l.customer_id.to_lowercase(),
        l.subscription_id.to_lowercase(),
        l.catalog_sku(),
        l.charge_type.name().to_lowercase(),
        l.reference_id.as_deref().unwrap_or("").to_lowercase(),
        l.direction(),
        l.quantity,
        opt(&l.subtotal),
        opt(&l.effective_unit_price),
        l.charge_start_date,
        l.charge_end_date,
        l.order_date.date,
    )
}

/// Whether a charge type can change seats at all.
fn changes_seats(ct: &ChargeType) -> bool {
    !matches!(
        ct,
        ChargeType::CustomerCredit | ChargeType::ExtendTerm | ChargeType::Other(_)
    )
}

/// The seat-count identity: customer, subscription and product (Microsoft's examples reuse
/// subscription ids across customers).
type SeatKey = (String, String, String);

fn seat_key(l: &ReconLine) -> SeatKey {
    (
        normalize_id(&l.customer_id),
        l.subscription_id.to_lowercase(),
        l.catalog_sku(),
    )
}

/// Derive seat changes from lines sorted by order date.
pub(crate) fn seat_changes(lines: &[ReconLine], warnings: &mut Vec<Warning>) -> Vec<SeatChange> {
    // Group in order of first appearance, which is time order since `lines` is sorted.
    let mut group_index: HashMap<(String, String), usize> = HashMap::new();
    let mut groups: Vec<Vec<&ReconLine>> = Vec::new();
    for l in lines {
        if !changes_seats(&l.charge_type) || !l.is_seat_based() {
            continue;
        }
        let reference = match &l.reference_id {
            Some(r) => r.to_lowercase(),
            None => format!("{}#{}", l.file, l.record),
        };
        let key = (reference, l.charge_type.name().to_lowercase());
        let next = groups.len();
        let g = *group_index.entry(key).or_insert(next);
        if g == next {
            groups.push(Vec::new());
        }
        if let Some(group) = groups.get_mut(g) {
            group.push(l);
        }
    }
    let mut known: HashMap<SeatKey, u32> = HashMap::new();
    let mut changes = Vec::new();
    for group in &groups {
        let mut by_key: Vec<(SeatKey, Vec<&ReconLine>)> = Vec::new();
        for l in group {
            let key = seat_key(l);
            match by_key.iter_mut().find(|(k, _)| *k == key) {
                Some((_, v)) => v.push(l),
                None => by_key.push((key, vec![l])),
            }
        }
        for (key, key_lines) in by_key {
            if let Some(change) = apply(&key_lines, known.get(&key).copied(), warnings) {
                known.insert(key, change.quantity_after);
                changes.push(change);
            }
        }
    }
    // Same-day changes of different subscriptions in a stable order whatever order the lines
    // arrived in; the sort is stable, so one subscription's changes keep their causal order.
    changes.sort_by(|a, b| {
        (
            a.date,
            normalize_id(&a.customer_id),
            a.subscription_id.to_lowercase(),
            &a.sku_id,
        )
            .cmp(&(
                b.date,
                normalize_id(&b.customer_id),
                b.subscription_id.to_lowercase(),
                &b.sku_id,
            ))
    });
    changes
}

/// Seats refunded and charged by one event on one subscription and product.
struct Sides {
    refunded: u32,
    charged: u32,
    has_refund: bool,
    has_charge: bool,
}

fn sides(ct: &ChargeType, lines: &[&ReconLine]) -> Sides {
    let mut s = Sides {
        refunded: 0,
        charged: 0,
        has_refund: false,
        has_charge: false,
    };
    let mut zeros = Vec::new();
    for l in lines {
        match l.direction() {
            Direction::Refund => {
                s.refunded = s.refunded.saturating_add(l.quantity);
                s.has_refund = true;
            }
            Direction::Charge => {
                s.charged = s.charged.saturating_add(l.quantity);
                s.has_charge = true;
            }
            Direction::Zero => zeros.push(*l),
        }
    }
    if zeros.is_empty() {
        return s;
    }
    let movement = matches!(ct, ChargeType::Convert | ChargeType::MoveQuantity);
    // Which zero lines are refunds; the rest are charges.
    let refund_zeros: Vec<usize> = match ct {
        ChargeType::CancelImmediate => (0..zeros.len()).collect(),
        ChargeType::New | ChargeType::Renew | ChargeType::CycleCharge => Vec::new(),
        _ if s.has_refund && !s.has_charge => Vec::new(),
        _ if s.has_charge && !s.has_refund => (0..zeros.len()).collect(),
        _ if s.has_charge && s.has_refund => Vec::new(),
        _ if movement || zeros.len() >= 2 => {
            let trial = zeros.iter().position(|l| l.is_trial());
            match (trial, zeros.len()) {
                (Some(i), _) => vec![i],
                (None, n) if n >= 2 => vec![0],
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    };
    for (i, l) in zeros.iter().enumerate() {
        if refund_zeros.contains(&i) {
            s.refunded = s.refunded.saturating_add(l.quantity);
            s.has_refund = true;
        } else {
            s.charged = s.charged.saturating_add(l.quantity);
            s.has_charge = true;
        }
    }
    s
}

fn apply(
    lines: &[&ReconLine],
    known: Option<u32>,
    warnings: &mut Vec<Warning>,
) -> Option<SeatChange> {
    let first = lines.first()?;
    let ct = &first.charge_type;
    let s = sides(ct, lines);
    let warn = |warnings: &mut Vec<Warning>, message: String| {
        warnings.push(Warning::at(
            &first.file,
            first.line,
            Some(first.record),
            message,
        ));
    };
    let what = format!(
        "{ct} on subscription {} ({})",
        first.subscription_id,
        first.catalog_sku()
    );
    let (before, after) = match (ct, s.has_refund, s.has_charge) {
        (ChargeType::CancelImmediate, _, _) => (known.unwrap_or(s.refunded), 0),
        (_, true, true) => {
            if let Some(k) = known
                && k != s.refunded
            {
                warn(
                    warnings,
                    format!(
                        "{what} refunds {} seats, but {k} were known before it; lines may be \
                         missing",
                        s.refunded
                    ),
                );
            }
            (s.refunded, s.charged)
        }
        (ChargeType::New, false, true) => (known.unwrap_or(0), s.charged),
        (
            ChargeType::Renew | ChargeType::CycleCharge | ChargeType::ChangeBillingPlan,
            false,
            true,
        ) => (known.unwrap_or(s.charged), s.charged),
        (ChargeType::Convert | ChargeType::MoveQuantity, false, true) => {
            let before = known.unwrap_or(0);
            (before, before.saturating_add(s.charged))
        }
        (ChargeType::Convert | ChargeType::MoveQuantity, true, false) => {
            let before = known.unwrap_or_else(|| {
                warn(
                    warnings,
                    format!(
                        "{what}: the quantity before is not in the files read; taken as the {} \
                         seats moved",
                        s.refunded
                    ),
                );
                s.refunded
            });
            (before, before.saturating_sub(s.refunded))
        }
        (ChargeType::AddQuantity | ChargeType::RemoveQuantity, false, true) => match known {
            Some(k) => {
                warn(
                    warnings,
                    format!(
                        "{what} has a charge but no refund line with the same ReferenceId; taken as the new quantity"
                    ),
                );
                (k, s.charged)
            }
            None => {
                warn(
                    warnings,
                    format!(
                        "{what} has a charge but no refund line with the same ReferenceId, and the quantity before is unknown; no seat change recorded"
                    ),
                );
                return None;
            }
        },
        _ => {
            warn(
                warnings,
                format!(
                    "{what} has only {} line(s); no seat change recorded",
                    if s.has_refund { "refund" } else { "charge" }
                ),
            );
            return None;
        }
    };
    let date = lines.iter().map(|l| l.order_date.date).min()?;
    Some(SeatChange {
        customer_id: first.customer_id.clone(),
        customer_domain: first.customer_domain.clone(),
        subscription_id: first.subscription_id.clone(),
        sku_id: first.catalog_sku(),
        sku_name: first
            .sku_name
            .clone()
            .or_else(|| first.product_name.clone()),
        date,
        quantity_before: before,
        quantity_after: after,
        reference_id: first.reference_id.clone(),
        charge_type: ct.clone(),
        file: first.file.clone(),
        line: first.line,
    })
}
