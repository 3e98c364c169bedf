//! Desired against current, keyed on plan line ids: what to create, change, cancel, adopt or
//! leave alone, and what Tally refuses to do. Pure: no I/O.

use crate::desired::cancel_day;
use crate::model::{
    Action, Change, CustomerDiff, CustomerTarget, DesiredLine, RemoteLine, RemoteState, Values,
};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiffOptions {
    /// Take over lines Tally did not create when they match a plan line (`--adopt`).
    pub adopt: bool,
    /// Refuse a customer whose total would change by more than this percentage.
    pub max_change: Option<Decimal>,
}

/// Whether a remote line still bills in the period: not cancelled before its first day.
pub fn active(line: &RemoteLine, target: &CustomerTarget) -> bool {
    line.ends.is_none_or(|end| end >= target.period_start)
}

fn desired_values(line: &DesiredLine, catalogue_price: Option<Decimal>) -> Values {
    let price = line.unit_price.or(catalogue_price);
    Values {
        quantity: line.quantity,
        unit_price: price,
        amount: line
            .amount
            .or_else(|| price.and_then(|p| p.checked_mul(line.quantity))),
        description: line.description.clone(),
        ends: line.ends,
    }
}

fn remote_values(line: &RemoteLine) -> Values {
    Values {
        quantity: line.quantity,
        unit_price: line.unit_price,
        amount: line.amount(),
        description: line.description.clone(),
        ends: line.ends,
    }
}

/// Whether a remote line already holds what the desired line asks for. A line without a price
/// leaves the price to the PSA.
pub fn holds(remote: &RemoteLine, desired: &DesiredLine) -> bool {
    remote.quantity == desired.quantity
        && (desired.unit_price.is_none() || remote.unit_price == desired.unit_price)
        && remote.description == desired.description
        && remote.ends == desired.ends
        && remote.product == desired.product
        && remote.agreement == desired.agreement
}

fn change(
    action: Action,
    key: &str,
    desired: Option<&DesiredLine>,
    remote: Option<&RemoteLine>,
) -> Change {
    Change {
        action,
        key: key.to_string(),
        agreement: desired
            .map(|d| d.agreement.clone())
            .or_else(|| remote.map(|r| r.agreement.clone()))
            .unwrap_or_default(),
        product: desired
            .map(|d| d.product.clone())
            .or_else(|| remote.map(|r| r.product.clone()))
            .unwrap_or_default(),
        external_id: remote.map(|r| r.external_id.clone()),
        before: remote.map(remote_values),
        after: None,
        note: None,
        desired: desired.cloned(),
        cancel_on: None,
        outcome: None,
    }
}

/// One customer's diff.
pub fn diff_customer(
    psa: &str,
    target: &CustomerTarget,
    desired: &[DesiredLine],
    remote: &RemoteState,
    options: DiffOptions,
) -> CustomerDiff {
    let tenant_prefix = format!("{}/", target.tenant.to_lowercase());
    let active_lines: Vec<&RemoteLine> =
        remote.lines.iter().filter(|l| active(l, target)).collect();
    let mut owned: BTreeMap<&str, Vec<&RemoteLine>> = BTreeMap::new();
    for line in &active_lines {
        if let Some(key) = &line.key {
            owned.entry(key.as_str()).or_default().push(line);
        }
    }
    let mut foreign: Vec<&RemoteLine> = active_lines
        .iter()
        .copied()
        .filter(|l| l.key.is_none() && target.agreements.contains(&l.agreement))
        .collect();
    let mut adopted: BTreeSet<String> = BTreeSet::new();
    let mut changes = Vec::new();
    let cancel_on = cancel_day(target.period_start);
    let wanted: BTreeSet<&str> = desired.iter().map(|d| d.key.as_str()).collect();

    for line in desired {
        let catalogue = remote.catalogue.get(&line.product);
        let catalogue_price = catalogue.and_then(|c| c.price);
        let after = desired_values(line, catalogue_price);
        let matches = owned.get(line.key.as_str()).cloned().unwrap_or_default();
        if matches.len() > 1 {
            let ids: Vec<String> = matches
                .iter()
                .map(|m| format!("#{}", m.external_id))
                .collect();
            let mut c = change(
                Action::Refused,
                &line.key,
                Some(line),
                matches.first().copied(),
            );
            c.after = Some(after);
            c.note = Some(format!(
                "{} lines carry this key ({}): end all but one by hand",
                matches.len(),
                ids.join(", ")
            ));
            changes.push(c);
            continue;
        }
        let refusal = if !remote.agreements.contains_key(&line.agreement) {
            Some(format!(
                "agreement `{}` not found for company `{}` in {psa}",
                line.agreement, target.company
            ))
        } else if catalogue.is_none() {
            Some(if line.product == line.plan_product {
                format!("product `{}` is not in {psa}'s catalogue", line.product)
            } else {
                format!(
                    "product `{}` (plan product `{}`) is not in {psa}'s catalogue",
                    line.product, line.plan_product
                )
            })
        } else if remote.needs_price && after.unit_price.is_none() {
            Some(format!(
                "no price: neither the plan nor {psa}'s catalogue prices `{}`, and Tally will not send 0",
                line.product
            ))
        } else if let Some(note) = matches
            .first()
            .and_then(|m| remote.refused.get(&m.external_id))
        {
            Some(note.clone())
        } else if let Some(billed) = matches
            .first()
            .and_then(|m| remote.billed_prices.get(&m.external_id))
            .filter(|billed| after.unit_price != Some(**billed))
        {
            Some(format!(
                "{psa} bills this period at {billed}, not the line's unit price {} nor the plan's {}: a change of the line's price may not reprice the period; correct it by hand",
                matches
                    .first()
                    .and_then(|m| m.unit_price)
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "(none)".into()),
                after
                    .unit_price
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "(none)".into())
            ))
        } else {
            None
        };
        let current = matches.first().copied();
        if let Some(note) = refusal {
            // Nothing can be written for this line; a line already there is left as it is.
            let mut c = change(Action::Refused, &line.key, Some(line), current);
            c.after = Some(after);
            c.note = Some(note);
            changes.push(c);
            continue;
        }
        match current {
            Some(current)
                if current.agreement != line.agreement || current.product != line.product =>
            {
                // A line moves agreement or product: the old one ends, a new one starts.
                let mut cancel = change(Action::Cancel, &line.key, None, Some(current));
                cancel.cancel_on = Some(cancel_on);
                cancel.note = Some(format!(
                    "moves to `{}` / `{}`",
                    line.agreement, line.product
                ));
                changes.push(cancel);
                if line.quantity != Decimal::ZERO {
                    let mut create = change(Action::Create, &line.key, Some(line), None);
                    create.after = Some(after);
                    changes.push(create);
                }
            }
            Some(current) if line.quantity == Decimal::ZERO => {
                let mut c = change(Action::Cancel, &line.key, Some(line), Some(current));
                c.cancel_on = Some(cancel_on);
                c.note = Some("quantity 0".into());
                changes.push(c);
            }
            Some(current) => {
                let action = if holds(current, line) {
                    Action::Unchanged
                } else {
                    Action::Update
                };
                let mut c = change(action, &line.key, Some(line), Some(current));
                c.after = Some(after);
                changes.push(c);
            }
            None if line.quantity == Decimal::ZERO => {}
            None => {
                let same_product: Vec<&RemoteLine> = foreign
                    .iter()
                    .copied()
                    .filter(|f| f.agreement == line.agreement && f.product == line.product)
                    .collect();
                let siblings = desired
                    .iter()
                    .filter(|d| {
                        d.agreement == line.agreement
                            && d.product == line.product
                            && !owned.contains_key(d.key.as_str())
                    })
                    .count();
                let candidate = same_product
                    .iter()
                    .find(|f| f.description == line.description)
                    .copied()
                    .or_else(|| {
                        (same_product.len() == 1 && siblings == 1).then(|| same_product[0])
                    });
                if same_product.is_empty() {
                    let mut c = change(Action::Create, &line.key, Some(line), None);
                    c.after = Some(after);
                    changes.push(c);
                } else if options.adopt
                    && let Some(candidate) = candidate
                    && let Some(note) = remote.refused.get(&candidate.external_id)
                {
                    let mut c = change(Action::Refused, &line.key, Some(line), None);
                    c.after = Some(after);
                    c.note = Some(format!("#{}: {note}", candidate.external_id));
                    changes.push(c);
                } else if options.adopt
                    && let Some(candidate) = candidate
                {
                    adopted.insert(candidate.external_id.clone());
                    foreign.retain(|f| f.external_id != candidate.external_id);
                    let mut c = change(Action::Adopt, &line.key, Some(line), Some(candidate));
                    c.after = Some(after);
                    changes.push(c);
                } else {
                    let ids: Vec<String> = same_product
                        .iter()
                        .map(|f| format!("#{}", f.external_id))
                        .collect();
                    let mut c = change(Action::Refused, &line.key, Some(line), None);
                    c.after = Some(after);
                    c.note = Some(if options.adopt {
                        format!(
                            "lines not created by Tally ({}) already bill `{}` on `{}` and none matches this line's text: end or edit them by hand",
                            ids.join(", "),
                            line.product,
                            line.agreement
                        )
                    } else {
                        format!(
                            "a line not created by Tally ({}) already bills `{}` on `{}`: `--adopt` takes it over",
                            ids.join(", "),
                            line.product,
                            line.agreement
                        )
                    });
                    changes.push(c);
                }
            }
        }
    }
    // Tally's lines for this tenant that the plan no longer has.
    for (key, lines) in &owned {
        if wanted.contains(key) || !key.to_lowercase().starts_with(&tenant_prefix) {
            continue;
        }
        for line in lines {
            if let Some(note) = remote.refused.get(&line.external_id) {
                let mut c = change(Action::Refused, key, None, Some(line));
                c.note = Some(format!("cannot end it: {note}"));
                changes.push(c);
                continue;
            }
            let mut c = change(Action::Cancel, key, None, Some(line));
            c.cancel_on = Some(cancel_on);
            changes.push(c);
        }
    }
    for line in foreign.iter().filter(|f| !adopted.contains(&f.external_id)) {
        changes.push(change(
            Action::NotOwned,
            &format!("#{}", line.external_id),
            None,
            Some(line),
        ));
    }

    let before = changes
        .iter()
        .filter(|c| !matches!(c.action, Action::NotOwned))
        .filter(|c| c.action != Action::Refused || c.external_id.is_some())
        .filter_map(|c| c.before.as_ref().and_then(|v| v.amount))
        .try_fold(Decimal::ZERO, Decimal::checked_add);
    let after = changes
        .iter()
        .map(|c| match c.action {
            Action::Create | Action::Update | Action::Adopt | Action::Unchanged => {
                c.after.as_ref().and_then(|v| v.amount).unwrap_or_default()
            }
            // A refused line keeps what it bills now.
            Action::Refused => c.before.as_ref().and_then(|v| v.amount).unwrap_or_default(),
            Action::Cancel | Action::NotOwned => Decimal::ZERO,
        })
        .try_fold(Decimal::ZERO, Decimal::checked_add);
    let mut refusals = Vec::new();
    // Totals beyond what a Decimal holds cannot be shown or compared: the customer is refused.
    let (before, after) = match (before, after) {
        (Some(before), Some(after)) => (before, after),
        (before, after) => {
            refusals.push(format!(
                "the customer's total {} is too large to add up (Decimal overflow): check the plan's amounts",
                if before.is_none() { "before" } else { "after" }
            ));
            (before.unwrap_or_default(), after.unwrap_or_default())
        }
    };
    if let Some(max) = options.max_change
        && before != after
    {
        if before == Decimal::ZERO {
            refusals.push(format!(
                "--max-change {max}%: nothing is billed by Tally's lines now, so any change is unlimited; push this customer once without --max-change"
            ));
        } else {
            let percent = after
                .checked_sub(before)
                .and_then(|d| d.abs().checked_mul(Decimal::ONE_HUNDRED))
                .and_then(|d| d.checked_div(before.abs()))
                .map(|p| p.round_dp(2));
            match percent {
                Some(percent) if percent <= max => {}
                Some(percent) => refusals.push(format!(
                    "--max-change {max}%: the total changes by {percent}% ({before} → {after} {})",
                    target.currency
                )),
                None => refusals.push(format!(
                    "--max-change {max}%: the change ({before} → {after} {}) is too large to compute (Decimal overflow)",
                    target.currency
                )),
            }
        }
    }
    CustomerDiff {
        customer: target.customer.clone(),
        tenant: target.tenant.clone(),
        psa: target.kind,
        company: target.company.clone(),
        currency: target.currency,
        changes,
        before,
        after,
        refusals,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::model::CatalogueItem;
    use chrono::NaiveDate;
    use tally_ir::PsaKind;
    use tally_money::Currency;

    fn target() -> CustomerTarget {
        let day = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        CustomerTarget {
            customer: "huge".into(),
            tenant: "huge.example".into(),
            kind: PsaKind::HaloPsa,
            company: "Huge".into(),
            currency: Currency::from_code("USD").unwrap(),
            agreements: vec!["Main".into()],
            products: vec!["P".into()],
            keys: Vec::new(),
            period_start: day,
            period_end: NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
        }
    }

    fn line(n: u32, amount: Decimal) -> DesiredLine {
        DesiredLine {
            key: format!("huge.example/p{n}"),
            agreement: "Main".into(),
            plan_product: "P".into(),
            product: "P".into(),
            description: format!("line {n}"),
            quantity: Decimal::ONE,
            unit_price: Some(amount),
            amount: Some(amount),
            effective: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            ends: None,
        }
    }

    #[test]
    fn totals_beyond_a_decimal_refuse_the_customer_instead_of_panicking() {
        let near_max = Decimal::MAX - Decimal::ONE;
        let mut remote = RemoteState::default();
        remote.agreements.insert("Main".into(), "1".into());
        remote.catalogue.insert(
            "P".into(),
            CatalogueItem {
                external_id: "9".into(),
                price: None,
            },
        );
        let desired = [line(1, near_max), line(2, near_max)];
        let diff = diff_customer(
            "HaloPSA",
            &target(),
            &desired,
            &remote,
            DiffOptions::default(),
        );
        assert!(diff.is_refused());
        assert!(
            diff.refusals.iter().any(|r| r.contains("Decimal overflow")),
            "{:?}",
            diff.refusals
        );

        // One line near the maximum adds up; --max-change from +near_max to -near_max cannot be
        // computed and refuses the customer.
        remote.lines.push(RemoteLine {
            external_id: "7".into(),
            agreement: "Main".into(),
            key: Some("huge.example/p1".into()),
            product: "P".into(),
            description: "line 1".into(),
            quantity: Decimal::ONE,
            unit_price: Some(near_max),
            effective: Some(NaiveDate::from_ymd_opt(2026, 9, 1).unwrap()),
            ends: None,
        });
        let options = DiffOptions {
            max_change: Some(Decimal::TEN),
            ..DiffOptions::default()
        };
        let negative = [line(1, -near_max)];
        let one = diff_customer("HaloPSA", &target(), &negative, &remote, options);
        assert_eq!((one.before, one.after), (near_max, -near_max));
        assert!(
            one.refusals
                .iter()
                .any(|r| r.contains("too large to compute")),
            "{:?}",
            one.refusals
        );
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, d).unwrap()
    }

    #[test]
    fn a_line_no_one_prices_is_refused_where_the_psa_needs_a_price() {
        let target = CustomerTarget {
            customer: "c".into(),
            tenant: "t".into(),
            kind: tally_ir::PsaKind::Autotask,
            company: "C".into(),
            currency: tally_money::Currency::from_code("GBP").unwrap(),
            agreements: vec!["A".into()],
            products: vec!["P".into()],
            keys: vec!["t/line".into()],
            period_start: day(1),
            period_end: day(31),
        };
        let line = DesiredLine {
            key: "t/line".into(),
            agreement: "A".into(),
            plan_product: "P".into(),
            product: "P".into(),
            description: "Line".into(),
            quantity: Decimal::TWO,
            unit_price: None,
            amount: None,
            effective: day(1),
            ends: None,
        };
        let mut remote = RemoteState::default();
        remote.agreements.insert("A".into(), "1".into());
        remote.catalogue.insert(
            "P".into(),
            CatalogueItem {
                external_id: "9".into(),
                price: None,
            },
        );
        let diff = |remote: &RemoteState| {
            diff_customer(
                "X",
                &target,
                std::slice::from_ref(&line),
                remote,
                DiffOptions::default(),
            )
        };
        assert_eq!(diff(&remote).changes[0].action, Action::Create);
        remote.needs_price = true;
        let refused = diff(&remote);
        assert_eq!(refused.changes[0].action, Action::Refused);
        assert!(
            refused.changes[0]
                .note
                .as_deref()
                .unwrap()
                .contains("no price"),
            "{:?}",
            refused.changes[0].note
        );
    }
}
