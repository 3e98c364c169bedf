//! `use`: the definitions of the modules a file uses become visible in it. Which file a `use`
//! names was decided by the caller; here a module used twice, a module not found, and a name
//! defined by two modules are reported.

use crate::{Checker, Import, ImportedLet};
use std::collections::BTreeMap;
use tally_diagnostics::{Code, Diagnostic, Span};
use tally_syntax::ast::{self, Item};

impl Checker<'_> {
    pub(super) fn imports(&mut self, file: &ast::File, imports: &[Import]) {
        let uses = file.items.iter().filter_map(|i| match i {
            Item::Use(u) => Some(u),
            _ => None,
        });
        let mut origin: BTreeMap<String, Span> = BTreeMap::new();
        let mut used: BTreeMap<&str, Span> = BTreeMap::new();
        for (decl, import) in uses.zip(imports) {
            if let Some(first) = used.get(import.module.0.as_str()) {
                self.report(
                    Diagnostic::error(
                        Code::DuplicateDefinition,
                        format!("`{}` is used twice", import.module),
                        import.span,
                    )
                    .with_secondary(*first, "first used here")
                    .with_help("remove one of the two `use` lines"),
                );
                continue;
            }
            used.insert(import.module.0.as_str(), import.span);
            if import.interface.is_none() {
                self.module_not_found(import);
                continue;
            }
            self.import_definitions(decl, import, &mut origin);
        }
    }

    fn module_not_found(&mut self, import: &Import) {
        let (message, help) = import
            .not_found
            .clone()
            .unwrap_or_else(|| (format!("cannot find module `{}`", import.module), None));
        let mut d = Diagnostic::error(Code::UnknownModule, message, import.span);
        if let Some(help) = help {
            d = d.with_help(help);
        }
        self.report(d);
    }

    /// The definitions of one used module; `origin` is where each name was imported first.
    fn import_definitions(
        &mut self,
        decl: &ast::Use,
        import: &Import,
        origin: &mut BTreeMap<String, Span>,
    ) {
        let Some(interface) = &import.interface else {
            return;
        };
        for (name, ty) in &interface.lets {
            if let Some(first) = origin.get(name) {
                self.report(
                    Diagnostic::error(
                        Code::DuplicateDefinition,
                        format!("`{name}` is defined by two modules"),
                        decl.span,
                    )
                    .with_secondary(*first, "also defined by this one"),
                );
                continue;
            }
            origin.insert(name.clone(), decl.span);
            let imported = ImportedLet {
                module: import.module.clone(),
                ty: ty.clone(),
                depth: interface.depths.get(name).copied().unwrap_or_default(),
            };
            self.imported.insert(name.clone(), imported);
        }
    }
}
