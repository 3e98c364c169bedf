#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic

//! The HaloPSA adapter against a fake that departs from the document: invoices answered without
//! their lines, paging that ignores `page_no`, invoices of other clients, disabled or
//! duplicated invoices, line ids that are not numbers, huge token lifetimes, and error bodies
//! that echo the secret or the token. None of them may duplicate a line, panic or show a secret.

mod halopsa_support;

use halopsa_support::common::{PsaWorld, day, state_dir, stopped_or_error};
use halopsa_support::{World, northwind, push_through};
use rust_decimal::Decimal;
use std::sync::Arc;
use tally_psa::diff::DiffOptions;
use tally_psa::halopsa::Halo;
use tally_psa::journal::Journal;
use tally_psa::{Action, Change, CustomerTarget, DesiredLine, Psa, PsaError, WriteLog};
use tally_psa_testserver::halopsa::{Credentials, Fake, Quirks, State};

/// The recurring invoice the fake holds for `reference` (the first one).
fn invoice_id(world: &World, reference: &str) -> i64 {
    world
        .fake
        .state()
        .invoices
        .iter()
        .find(|i| i.reference == reference)
        .unwrap()
        .id
}

fn agreement(plan: &tally_plan::Plan) -> String {
    plan.customers[0].psa.as_ref().unwrap().agreement.clone()
}

/// A line someone else put on `invoice` (5 × 1.00 of the plan's first product since 1
/// September), keyed as the plan's first line: read as Tally's, it would be updated instead of
/// created.
fn add_line_keyed_as_the_first(
    world: &World,
    plan: &tally_plan::Plan,
    invoice: i64,
    description: &str,
) -> i64 {
    let first = &plan.customers[0].lines[0];
    let line = world.fake.add_foreign_line(
        invoice,
        &first.product,
        5,
        Decimal::ONE,
        description,
        day(2026, 9, 1),
    );
    world
        .fake
        .state()
        .lines
        .iter_mut()
        .find(|l| l.id == line)
        .unwrap()
        .external_reference = Some(format!("tally:{}", first.id));
    line
}

/// Applies the plan, which must create every line as if the PSA held none of them; the fake's
/// state after.
fn apply_creating_every_line(world: &World, plan: &tally_plan::Plan) -> State {
    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    let report = world.push(plan, Some(&mut journal), true).unwrap();
    assert_eq!(report.stopped, None);
    assert_eq!(report.diff.customers[0].count(Action::Create), 27);
    world.fake.state().clone()
}

#[test]
fn invoices_answered_without_lines_stop_the_push_instead_of_creating_every_line_again() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    world.push(&plan, Some(&mut journal), true).unwrap();
    world.assert_holds(&plan);

    world.fake.set_quirks(Quirks {
        omit_lines: true,
        ..Quirks::default()
    });
    world.fake.clear_log();
    let message = stopped_or_error(world.push(&plan, Some(&mut journal), true));
    assert!(message.contains("HaloPSA"), "{message}");
    assert!(
        message.contains("GET /api/RecurringInvoice?client_id="),
        "{message}"
    );
    assert!(message.contains("without `lines`"), "{message}");
    assert_eq!(world.fake.writes(), 0, "no line created again");
    world.assert_holds(&plan);
}

#[test]
fn paging_that_ignores_page_no_stops_instead_of_reading_the_first_page_again() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    assert!(world.fake.state().items.len() > 4);
    world.fake.set_page_cap(4);
    world.fake.set_quirks(Quirks {
        ignore_page_no: true,
        ..Quirks::default()
    });
    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    let message = stopped_or_error(world.push(&plan, Some(&mut journal), true));
    assert!(
        message.contains("GET /api/Item?pageinate=true"),
        "{message}"
    );
    assert!(message.contains("page_no"), "{message}");
    let items = world
        .fake
        .log()
        .iter()
        .filter(|l| l.path == "/api/Item")
        .count();
    assert_eq!(items, 2, "the repeated page is the last one read");
    assert_eq!(world.fake.writes(), 0);
}

#[test]
fn two_recurring_invoices_with_one_reference_are_refused_naming_both() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    let reference = agreement(&plan);
    let first = invoice_id(&world, &reference);
    let client = world.fake.state().invoices[0].client_id;
    let second = world.fake.add_invoice(client, &reference);
    let message = stopped_or_error(world.push(&plan, None, false));
    assert!(message.contains(&reference), "{message}");
    assert!(
        message.contains(&format!("ids {first}, {second}")),
        "{message}"
    );
    assert_eq!(world.fake.writes(), 0);

    // Disabled, the second one is left alone: every line goes to the first.
    world.fake.set_invoice_disabled(second, true);
    let line = add_line_keyed_as_the_first(&world, &plan, second, "on the disabled invoice");
    let state = apply_creating_every_line(&world, &plan);
    let untouched = state.lines.iter().find(|l| l.id == line).unwrap();
    assert_eq!(untouched.quantity, Decimal::from(5));
    assert!(
        state.lines.iter().any(|l| l.ihid == first),
        "lines on the invoice that bills"
    );
    assert_eq!(
        state.lines.iter().filter(|l| l.ihid == second).count(),
        1,
        "nothing written to the disabled invoice"
    );
}

#[test]
fn invoices_of_another_client_are_never_read_as_this_ones() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    let reference = agreement(&plan);
    // A server ignoring `client_id`: another client's invoice of the same reference, holding a
    // line keyed as one of the plan's.
    world.fake.set_quirks(Quirks {
        ignore_client_filter: true,
        ..Quirks::default()
    });
    let other = world.fake.add_client("Someone Else Ltd");
    let theirs = world.fake.add_invoice(other, &reference);
    let line = add_line_keyed_as_the_first(&world, &plan, theirs, "someone else's");

    let state = apply_creating_every_line(&world, &plan);
    let untouched = state.lines.iter().find(|l| l.id == line).unwrap();
    assert_eq!(
        (untouched.quantity, untouched.ihid),
        (Decimal::from(5), theirs)
    );
    assert_eq!(
        state.lines.iter().filter(|l| l.ihid == theirs).count(),
        1,
        "nothing written to another client's invoice"
    );
}

struct NoJournal;

impl WriteLog for NoJournal {
    fn before(&self, _request: &str, _body: &str) -> Result<i64, PsaError> {
        Ok(1)
    }
    fn after(&self, _id: i64, _external_id: Option<&str>, _answer: &str) -> Result<(), PsaError> {
        Ok(())
    }
}

#[test]
fn an_update_or_cancel_whose_line_id_is_not_a_number_is_never_sent() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    let customer = &plan.customers[0];
    let psa = customer.psa.as_ref().unwrap();
    let product = customer.lines[0].product.clone();
    let target = CustomerTarget {
        customer: customer.customer.clone(),
        tenant: customer.tenant.clone(),
        kind: psa.kind,
        company: psa.company.clone(),
        currency: plan.customers[0].currency,
        agreements: vec![psa.agreement.clone()],
        products: vec![product.clone()],
        keys: customer.lines.iter().map(|l| l.id.clone()).collect(),
        period_start: customer.period.start,
        period_end: customer.period.end,
    };
    let adapter = world.adapter();
    let state = adapter.read(&target).unwrap();
    assert!(state.agreements.contains_key(&psa.agreement));
    let key = format!("{}/odd", customer.tenant);
    let desired = DesiredLine {
        key: key.clone(),
        agreement: psa.agreement.clone(),
        plan_product: product.clone(),
        product: product.clone(),
        description: "odd".into(),
        quantity: Decimal::ONE,
        unit_price: Some(Decimal::ONE),
        amount: Some(Decimal::ONE),
        effective: customer.period.start,
        ends: None,
    };
    for (action, id) in [
        (Action::Update, "12a"),
        (Action::Adopt, ""),
        (Action::Cancel, "9999999999999999999999"),
    ] {
        let change = Change {
            action,
            key: key.clone(),
            agreement: psa.agreement.clone(),
            product: product.clone(),
            external_id: Some(id.into()),
            before: None,
            after: None,
            note: None,
            desired: Some(desired.clone()),
            cancel_on: None,
            outcome: None,
        };
        world.fake.clear_log();
        let error = adapter
            .write(&target, &state, &change, &NoJournal)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(&format!("`{id}`")) && error.contains("not a number"),
            "{action:?}: {error}"
        );
        assert_eq!(world.fake.writes(), 0, "{action:?}: nothing sent");
    }
    assert!(world.fake.state().lines.is_empty(), "no line created");
}

#[test]
fn a_huge_token_lifetime_is_capped_instead_of_overflowing() {
    let plan = northwind();
    let world = World::for_plan(&plan);
    world.fake.set_token_lifetime(u64::MAX);
    let dir = state_dir();
    let mut journal = Journal::open(dir.path()).unwrap();
    let report = world.push(&plan, Some(&mut journal), true).unwrap();
    assert_eq!(report.stopped, None);
    world.assert_holds(&plan);
    assert_eq!(world.fake.issued_tokens().len(), 1, "the token is kept");
}

/// A secret that URL-encoding changes, so the token request's form does not hold it as is.
const ODD_SECRET: &str = "SENTINEL halo/secret+&=5b8e13";
const ODD_SECRET_ENCODED: &str = "SENTINEL%20halo%2Fsecret%2B%26%3D5b8e13";

/// A fake whose client secret is [`ODD_SECRET`], seeded for the plan.
fn odd_world(plan: &tally_plan::Plan) -> World {
    let seeded = World::for_plan(plan);
    let fake = Arc::new(
        Fake::new(
            Credentials {
                client_id: halopsa_support::CLIENT_ID.into(),
                client_secret: ODD_SECRET.into(),
            },
            day(2026, 10, 1),
        )
        .unwrap(),
    );
    *fake.state() = seeded.fake.state().clone();
    let server = fake.serve().unwrap();
    World {
        fake,
        server,
        max_attempts: 2,
    }
}

#[test]
fn error_bodies_echoing_the_form_or_the_token_never_show_them() {
    let plan = northwind();
    let world = odd_world(&plan);
    let adapter = Halo::with_secret(world.config(), ODD_SECRET.into(), None);
    // The fake accepts the odd secret (the encoding round-trips).
    let report = push_through(&adapter, &plan, None, false, DiffOptions::default()).unwrap();
    assert_eq!(report.stopped, None);

    // The token endpoint quotes the form, secret and all, in its 400.
    world.fake.set_quirks(Quirks {
        echo_token_form: true,
        ..Quirks::default()
    });
    let adapter = Halo::with_secret(world.config(), ODD_SECRET.into(), None);
    let error = push_through(&adapter, &plan, None, false, DiffOptions::default()).unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(text.contains("could not read grant_type="), "{text}");
    for needle in [ODD_SECRET, ODD_SECRET_ENCODED] {
        assert!(!text.contains(needle), "`{needle}` in {text}");
    }

    // The API quotes the bearer token in its 400.
    world.fake.set_quirks(Quirks {
        echo_authorization: true,
        ..Quirks::default()
    });
    let adapter = Halo::with_secret(world.config(), ODD_SECRET.into(), None);
    let message = stopped_or_error(push_through(
        &adapter,
        &plan,
        None,
        false,
        DiffOptions::default(),
    ));
    assert!(
        message.contains("status 400: bad request, Authorization:"),
        "{message}"
    );
    let tokens = world.fake.issued_tokens();
    assert!(!tokens.is_empty());
    for needle in tokens
        .iter()
        .map(String::as_str)
        .chain([ODD_SECRET, ODD_SECRET_ENCODED])
    {
        assert!(!message.contains(needle), "`{needle}` in {message}");
    }
}
