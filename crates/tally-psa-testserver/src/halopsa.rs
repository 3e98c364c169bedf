//! A fake HaloPSA API (not yet written).
