//! `split by department`: how many of the split's users fall in each group.

use super::{Ctx, Evaluator, InModule, Result, unexpected};
use crate::SplitWeights;
use crate::value::Value;
use std::collections::BTreeMap;
use tally_ir::{Split, SplitKey};

impl Evaluator<'_> {
    pub(super) fn split_weights(&mut self, split: &Split, ctx: Ctx<'_>) -> Result<SplitWeights> {
        let population = &split.population;
        let (users, _) = self.eval(population, ctx.untraced())?;
        let Value::List(users) = users else {
            return Err(unexpected(
                "a list of users to split",
                &users,
                population.span,
            ))
            .in_module(ctx);
        };
        let mut values = Vec::with_capacity(users.len());
        for user in &users {
            let Value::User(i) = user else {
                return Err(unexpected("a user to split", user, population.span)).in_module(ctx);
            };
            let user = self.user(*i, population.span).in_module(ctx)?;
            values.push(user.attribute(split.key.name()));
        }
        Ok(weights(split.key, &split.otherwise, values))
    }
}

/// The groups of the users' `key` values (`None`: no value). Grouped ignoring case and spaces;
/// each group is labelled with its smallest spelling so the label does not depend on the order
/// of users in the snapshot. Named groups come sorted, then `otherwise` for users with no
/// value (alone, with 0 users, when there is no group at all); when `otherwise` names one of
/// the groups (ignoring case), those users join it.
fn weights<'a>(
    key: SplitKey,
    otherwise: &str,
    values: impl IntoIterator<Item = Option<&'a str>>,
) -> SplitWeights {
    let mut groups: BTreeMap<String, (String, u64)> = BTreeMap::new();
    let mut unassigned = 0u64;
    for value in values {
        let Some(value) = value else {
            unassigned += 1;
            continue;
        };
        let value = value.trim();
        let entry = groups
            .entry(value.to_lowercase())
            .or_insert_with(|| (value.to_string(), 0));
        if value < entry.0.as_str() {
            entry.0 = value.to_string();
        }
        entry.1 += 1;
    }
    // `otherwise "Sales"` beside a real Sales group is one group, not two lines with one id.
    if let Some(named) = groups.get_mut(&otherwise.trim().to_lowercase()) {
        named.1 += unassigned;
        unassigned = 0;
    }
    let mut groups: Vec<(String, u64)> = groups.into_values().collect();
    if unassigned > 0 || groups.is_empty() {
        groups.push((otherwise.to_string(), unassigned));
    }
    SplitWeights {
        key: key.name(),
        groups,
        otherwise: otherwise.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(values: &[Option<&str>]) -> Vec<(String, u64)> {
        weights(SplitKey::Department, "Unassigned", values.iter().copied()).groups
    }

    fn group(name: &str, users: u64) -> (String, u64) {
        (name.to_string(), users)
    }

    #[test]
    fn groups_ignore_case_and_spaces_and_take_the_smallest_spelling() {
        let found = groups(&[Some("sales "), Some("Support"), Some("Sales"), None]);
        assert_eq!(
            found,
            [
                group("Sales", 2),
                group("Support", 1),
                group("Unassigned", 1)
            ]
        );
        // The same users in another order give the same labels.
        let reordered = groups(&[None, Some("Sales"), Some("Support"), Some("sales ")]);
        assert_eq!(reordered, found);
    }

    #[test]
    fn no_users_weigh_nothing_in_the_otherwise_group() {
        assert_eq!(groups(&[]), [group("Unassigned", 0)]);
        assert_eq!(groups(&[Some("Sales")]), [group("Sales", 1)]);
    }

    #[test]
    fn an_otherwise_naming_a_group_joins_it() {
        let found = weights(
            SplitKey::Department,
            "sales",
            [Some("Sales"), None, Some("Ops"), None],
        )
        .groups;
        assert_eq!(found, [group("Ops", 1), group("Sales", 3)]);
        // A department literally called like the default bucket.
        let found = weights(
            SplitKey::Department,
            "(no department)",
            [Some("(no department)"), None],
        )
        .groups;
        assert_eq!(found, [group("(no department)", 2)]);
    }
}
