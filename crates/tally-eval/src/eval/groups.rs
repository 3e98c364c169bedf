//! Users grouped by the text of one field, so that many lines filtering on it
//! (`count(m365.users where department == "Sales")`, one line per department) each visit the
//! users that match instead of every user of the tenant.

use super::ops::text_key;
use std::collections::HashMap;
use std::rc::Rc;
use tally_ir::Field;
use tally_snapshot::User;

/// Filters on a field before its users are grouped: grouping costs about one pass over the
/// users, so a field filtered on once is scanned as usual.
const FILTERS_BEFORE_GROUPING: u32 = 1;

/// The groups of one evaluator (one view of the tenant), built on demand, field by field.
#[derive(Default)]
pub(super) struct UserGroups {
    filters: HashMap<Field, u32>,
    by_field: HashMap<Field, HashMap<String, Rc<[usize]>>>,
}

impl UserGroups {
    /// The indices of the users whose `field` equals `text` as rules compare text
    /// ([`super::ops::same_text`]), in the tenant's order; `None` for a field that is not text
    /// or not yet worth grouping, which the caller then scans.
    pub(super) fn matching(
        &mut self,
        users: &[User],
        field: Field,
        text: &str,
    ) -> Option<Rc<[usize]>> {
        if !is_text(field) {
            return None;
        }
        if !self.by_field.contains_key(&field) {
            let filters = self.filters.entry(field).or_insert(0);
            *filters += 1;
            if *filters <= FILTERS_BEFORE_GROUPING {
                return None;
            }
            self.by_field.insert(field, group(users, field));
        }
        let groups = self.by_field.get(&field)?;
        Some(
            groups
                .get(text_key(text).as_ref())
                .cloned()
                .unwrap_or_else(|| Rc::from(Vec::new())),
        )
    }
}

fn group(users: &[User], field: Field) -> HashMap<String, Rc<[usize]>> {
    let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, user) in users.iter().enumerate() {
        let text = text_field(user, field).unwrap_or("");
        match groups.get_mut(text_key(text).as_ref()) {
            Some(members) => members.push(index),
            None => {
                groups.insert(text_key(text).into_owned(), vec![index]);
            }
        }
    }
    groups
        .into_iter()
        .map(|(key, members)| (key, Rc::from(members)))
        .collect()
}

fn is_text(field: Field) -> bool {
    matches!(
        field,
        Field::UserId
            | Field::Upn
            | Field::DisplayName
            | Field::Department
            | Field::Office
            | Field::City
    )
}

/// A user's text field as filters compare it (an absent department, office or city is empty);
/// `None` for a field that is not text ([`is_text`]).
pub(super) fn text_field(user: &User, field: Field) -> Option<&str> {
    Some(match field {
        Field::UserId => user.id.as_str(),
        Field::Upn => user.upn.as_str(),
        Field::DisplayName => user.display_name.as_str(),
        Field::Department => user.department.as_deref().unwrap_or(""),
        Field::Office => user.office.as_deref().unwrap_or(""),
        Field::City => user.city.as_deref().unwrap_or(""),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::Fixture;
    use super::*;

    #[test]
    fn a_field_is_grouped_from_its_second_filter_on() {
        let fixture = Fixture::new();
        let users = &fixture.view.users;
        let mut groups = UserGroups::default();
        assert_eq!(groups.matching(users, Field::Department, "Sales"), None);
        // Ana's "Sales" and Dan's "sales ", in the tenant's order.
        let sales = groups.matching(users, Field::Department, " SALES").unwrap();
        assert_eq!(sales.as_ref(), [0, 3]);
        let none = groups
            .matching(users, Field::Department, "Finance")
            .unwrap();
        assert!(none.is_empty());
        // Cy has no department: the empty text, as filters compare it.
        let without = groups.matching(users, Field::Department, "").unwrap();
        assert_eq!(without.as_ref(), [2]);
    }

    #[test]
    fn fields_that_are_not_text_are_never_grouped() {
        let fixture = Fixture::new();
        let mut groups = UserGroups::default();
        for _ in 0..3 {
            let found = groups.matching(&fixture.view.users, Field::Enabled, "true");
            assert_eq!(found, None);
        }
    }
}
