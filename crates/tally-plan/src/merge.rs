//! Joining the plans of shards (`tally plan --shard K/N`) into the plan one run would have
//! written: the same inputs and period, customers in their rule files' order.

use crate::model::Plan;

/// Joins shard plans. They must be of one period and one set of inputs (the same rules and
/// snapshot), and no tenant may appear in two of them.
pub fn merge(plans: Vec<Plan>) -> Result<Plan, String> {
    let mut plans = plans.into_iter();
    let Some(mut merged) = plans.next() else {
        return Err("nothing to merge: give the shards' plans".into());
    };
    for (index, plan) in plans.enumerate() {
        let which = index + 2;
        if plan.period != merged.period {
            return Err(format!(
                "plan {which} is for {} to {}, the first for {} to {}",
                plan.period.start, plan.period.end, merged.period.start, merged.period.end
            ));
        }
        if plan.inputs != merged.inputs {
            return Err(format!(
                "plan {which} was made from other rules or another snapshot than the first (their inputs' hashes differ)"
            ));
        }
        merged.customers.extend(plan.customers);
        merged.incomplete.extend(plan.incomplete);
    }
    // One run plans the files in key order: so does the merge.
    merged.customers.sort_by(|a, b| a.rules.cmp(&b.rules));
    merged.incomplete.sort_by(|a, b| a.rules.cmp(&b.rules));
    if let Some([a, _]) = merged
        .customers
        .windows(2)
        .find(|pair| matches!(pair, [a, b] if a.rules == b.rules))
    {
        return Err(format!("`{}` is in two of the plans", a.rules));
    }
    // Line ids start at the tenant: shards cannot see each other's tenants, the merge can.
    let mut tenants: Vec<String> = merged
        .customers
        .iter()
        .map(|c| c.tenant.to_lowercase())
        .collect();
    tenants.sort_unstable();
    if let Some([tenant, _]) = tenants
        .windows(2)
        .find(|pair| matches!(pair, [a, b] if a == b))
    {
        return Err(format!("tenant `{tenant}` is billed by two customer files"));
    }
    Ok(merged)
}
