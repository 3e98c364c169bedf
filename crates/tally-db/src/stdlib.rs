//! The standard library: `.tally` modules embedded in the binary, named `std.<name>`.

/// (key, source) of every standard module.
pub const STD_MODULES: [(&str, &str); 1] =
    [("std.m365", include_str!("../../../stdlib/m365.tally"))];

pub fn std_source(key: &str) -> Option<&'static str> {
    STD_MODULES.iter().find(|(k, _)| *k == key).map(|(_, s)| *s)
}
