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
use std::hash::Hash;

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

    /// The seat key of the subscription that changed.
    pub(crate) fn seat_key(&self) -> SeatKey {
        seat_key(
            &self.customer_id,
            &self.subscription_id,
            self.sku_id.clone(),
        )
    }
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
pub(crate) type SeatKey = (String, String, String);

/// The seat key of a customer's subscription to a product (`ProductId:SkuId`).
pub(crate) fn seat_key(customer_id: &str, subscription_id: &str, sku: String) -> SeatKey {
    (
        normalize_id(customer_id),
        subscription_id.to_lowercase(),
        sku,
    )
}

/// The seat key of the subscription a line bills.
pub(crate) fn line_seat_key(l: &&ReconLine) -> SeatKey {
    seat_key(&l.customer_id, &l.subscription_id, l.catalog_sku())
}

/// Items grouped by key, the groups in order of their first item and the items in their
/// order.
pub(crate) fn group_in_order<T, K: Hash + Eq + Clone>(
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> K,
) -> Vec<(K, Vec<T>)> {
    let mut index: HashMap<K, usize> = HashMap::new();
    let mut groups: Vec<(K, Vec<T>)> = Vec::new();
    for item in items {
        let k = key(&item);
        let next = groups.len();
        let g = *index.entry(k.clone()).or_insert(next);
        if g == next {
            groups.push((k, Vec::new()));
        }
        if let Some((_, group)) = groups.get_mut(g) {
            group.push(item);
        }
    }
    groups
}

/// Derive seat changes from lines sorted by order date.
pub(crate) fn seat_changes(lines: &[ReconLine], warnings: &mut Vec<Warning>) -> Vec<SeatChange> {
    // Events in order of first appearance, which is time order since `lines` is sorted.
    let events = group_in_order(
        lines
            .iter()
            .filter(|l| changes_seats(&l.charge_type) && l.is_seat_based()),
        event_key,
    );
    let mut known: HashMap<SeatKey, u32> = HashMap::new();
    let mut changes = Vec::new();
    for (_, event) in events {
        for (key, key_lines) in group_in_order(event, line_seat_key) {
            if let Some(change) = apply(&key_lines, known.get(&key).copied(), warnings) {
                known.insert(key, change.quantity_after);
                changes.push(change);
            }
        }
    }
    // Same-day changes of different subscriptions in a stable order whatever order the lines
    // arrived in; the sort is stable, so one subscription's changes keep their causal order.
    changes.sort_by_cached_key(|c| (c.date, c.seat_key()));
    changes
}

/// The lines of one event share a `ReferenceId` (a line without one is an event of its own)
/// and a charge type.
fn event_key(l: &&ReconLine) -> (String, String) {
    let reference = match &l.reference_id {
        Some(r) => r.to_lowercase(),
        None => format!("{}#{}", l.file, l.record),
    };
    (reference, l.charge_type.name().to_lowercase())
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

/// The seat change one event makes on one subscription and product, if any; `known` is the
/// count after the subscription's previous change.
fn apply(
    lines: &[&ReconLine],
    known: Option<u32>,
    warnings: &mut Vec<Warning>,
) -> Option<SeatChange> {
    let first = lines.first()?;
    let ct = &first.charge_type;
    let what = format!(
        "{ct} on subscription {} ({})",
        first.subscription_id,
        first.catalog_sku()
    );
    let reading = read_event(ct, &sides(ct, lines), known, &what);
    if let Some(message) = reading.warning {
        warnings.push(Warning::at(
            &first.file,
            first.line,
            Some(first.record),
            message,
        ));
    }
    let (before, after) = reading.seats?;
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

/// What an event says: the seats before and after it (none when it records no change), and a
/// doubt about it.
#[derive(Debug, PartialEq, Eq)]
struct Reading {
    seats: Option<(u32, u32)>,
    warning: Option<String>,
}

impl Reading {
    fn change(before: u32, after: u32) -> Reading {
        Reading {
            seats: Some((before, after)),
            warning: None,
        }
    }

    fn no_change(warning: String) -> Reading {
        Reading {
            seats: None,
            warning: Some(warning),
        }
    }

    fn warn(self, warning: String) -> Reading {
        Reading {
            warning: Some(warning),
            ..self
        }
    }
}

/// Read an event by the table in the module documentation. `known` is the count after the
/// previous change; `what` names the event in warnings.
fn read_event(ct: &ChargeType, s: &Sides, known: Option<u32>, what: &str) -> Reading {
    match (ct, s.has_refund, s.has_charge) {
        (ChargeType::CancelImmediate, _, _) => Reading::change(known.unwrap_or(s.refunded), 0),
        (_, true, true) => {
            let change = Reading::change(s.refunded, s.charged);
            match known {
                Some(k) if k != s.refunded => change.warn(format!(
                    "{what} refunds {} seats, but {k} were known before it; lines may be \
                     missing",
                    s.refunded
                )),
                _ => change,
            }
        }
        (ChargeType::New, false, true) => Reading::change(known.unwrap_or(0), s.charged),
        (
            ChargeType::Renew | ChargeType::CycleCharge | ChargeType::ChangeBillingPlan,
            false,
            true,
        ) => Reading::change(known.unwrap_or(s.charged), s.charged),
        (ChargeType::Convert | ChargeType::MoveQuantity, false, true) => {
            let before = known.unwrap_or(0);
            Reading::change(before, before.saturating_add(s.charged))
        }
        (ChargeType::Convert | ChargeType::MoveQuantity, true, false) => match known {
            Some(k) => Reading::change(k, k.saturating_sub(s.refunded)),
            None => Reading::change(s.refunded, 0).warn(format!(
                "{what}: the quantity before is not in the files read; taken as the {} \
                 seats moved",
                s.refunded
            )),
        },
        (ChargeType::AddQuantity | ChargeType::RemoveQuantity, false, true) => match known {
            Some(k) => Reading::change(k, s.charged).warn(format!(
                "{what} has a charge but no refund line with the same ReferenceId; taken as the new quantity"
            )),
            None => Reading::no_change(format!(
                "{what} has a charge but no refund line with the same ReferenceId, and the quantity before is unknown; no seat change recorded"
            )),
        },
        _ => Reading::no_change(format!(
            "{what} has only {} line(s); no seat change recorded",
            if s.has_refund { "refund" } else { "charge" }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sides(refunded: Option<u32>, charged: Option<u32>) -> Sides {
        Sides {
            refunded: refunded.unwrap_or(0),
            charged: charged.unwrap_or(0),
            has_refund: refunded.is_some(),
            has_charge: charged.is_some(),
        }
    }

    fn seats(ct: ChargeType, s: Sides, known: Option<u32>) -> Option<(u32, u32)> {
        read_event(&ct, &s, known, "x").seats
    }

    #[test]
    fn events_read_by_the_table() {
        use ChargeType::*;
        assert_eq!(
            seats(CancelImmediate, sides(Some(4), None), None),
            Some((4, 0))
        );
        assert_eq!(
            seats(CancelImmediate, sides(Some(4), None), Some(6)),
            Some((6, 0))
        );
        assert_eq!(
            seats(AddQuantity, sides(Some(10), Some(12)), Some(10)),
            Some((10, 12))
        );
        assert_eq!(seats(New, sides(None, Some(5)), None), Some((0, 5)));
        assert_eq!(seats(Renew, sides(None, Some(5)), None), Some((5, 5)));
        assert_eq!(seats(Renew, sides(None, Some(5)), Some(3)), Some((3, 5)));
        assert_eq!(seats(Convert, sides(None, Some(5)), Some(2)), Some((2, 7)));
        assert_eq!(
            seats(MoveQuantity, sides(Some(5), None), Some(8)),
            Some((8, 3))
        );
        assert_eq!(seats(RemoveQuantity, sides(Some(5), None), Some(8)), None);
    }

    #[test]
    fn doubtful_events_say_why() {
        let paired = read_event(
            &ChargeType::AddQuantity,
            &sides(Some(10), Some(12)),
            Some(9),
            "x",
        );
        assert_eq!(paired.seats, Some((10, 12)));
        assert_eq!(
            paired.warning.as_deref(),
            Some("x refunds 10 seats, but 9 were known before it; lines may be missing")
        );
        let moved_out = read_event(&ChargeType::Convert, &sides(Some(5), None), None, "x");
        assert_eq!(moved_out.seats, Some((5, 0)));
        assert!(moved_out.warning.is_some());
        let lone = |known| read_event(&ChargeType::AddQuantity, &sides(None, Some(12)), known, "x");
        assert_eq!(lone(Some(10)).seats, Some((10, 12)));
        assert!(lone(Some(10)).warning.is_some());
        assert_eq!(lone(None).seats, None);
        assert!(lone(None).warning.is_some());
        let plain = read_event(&ChargeType::New, &sides(None, Some(5)), Some(0), "x");
        assert_eq!(plain.warning, None);
    }

    #[test]
    fn groups_keep_first_appearance_order() {
        let groups = group_in_order(["b1", "a1", "b2", "c1", "a2"], |s| {
            s.get(..1).map(str::to_string)
        });
        let groups: Vec<(Option<String>, Vec<&str>)> = groups;
        assert_eq!(
            groups,
            [
                (Some("b".to_string()), vec!["b1", "b2"]),
                (Some("a".to_string()), vec!["a1", "a2"]),
                (Some("c".to_string()), vec!["c1"]),
            ]
        );
    }
}
