//! Where each comment goes. The tree has no comments, so the layout hands each node the comments
//! written inside it, and the node shares them out among its *slots*: the parts of it that start
//! a line when it breaks (an item's clauses, a header's fields, the operands of `and`, `or`,
//! `where` and arithmetic, a call's arguments, a list's elements, a block's closing bracket).
//!
//! In the manner of Prettier's and ruff's comment placement, a comment is
//!
//! - *inside* a slot when it lies within the slot's text: the slot shares it out in turn;
//! - *trailing* the slot before it when it follows that slot on the same text line
//!   (`price 25.00   // list price`);
//! - *leading* the slot after it otherwise, printed on lines of its own before that slot;
//! - else left with the node (before its first slot, which cannot start a line, or after its last
//!   one), and the node's parent places it before the node: ultimately before the item, which is
//!   where a comment in the middle of an expression ends up.
//!
//! Every comment goes somewhere, so none is ever lost, and none leaves its item.

use tally_syntax::trivia::Comment;

/// A part of a node that may hold comments: its text, and whether comments can be printed on
/// lines of their own just before it (when the node breaks, it starts a line).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub start: usize,
    pub end: usize,
    pub lead: bool,
}

impl Slot {
    pub(crate) fn new((start, end): (usize, usize), lead: bool) -> Slot {
        Slot { start, end, lead }
    }
}

/// The comments of one slot.
#[derive(Debug, Clone, Default)]
pub(crate) struct Share {
    /// Written before the slot on lines of their own (only for slots that can start a line).
    pub leading: Vec<Comment>,
    /// Written within the slot's text: the slot shares them out in turn.
    pub inner: Vec<Comment>,
    /// Written after the slot on its last text line.
    pub trailing: Option<Comment>,
}

/// Shares `comments` (all within one node, in source order) among `slots` (in source order,
/// not overlapping). Returns one share per slot, and the comments left with the node.
pub(crate) fn distribute(
    source: &str,
    comments: Vec<Comment>,
    slots: &[Slot],
) -> (Vec<Share>, Vec<Comment>) {
    let mut shares = vec![Share::default(); slots.len()];
    let mut left = Vec::new();
    for comment in comments {
        let at = comment.span.start as usize;
        // The first slot that ends after the comment starts: the one it is in, or the next.
        let next = slots.partition_point(|s| s.end <= at);
        if let Some(slot) = slots.get(next)
            && slot.start <= at
        {
            if let Some(share) = shares.get_mut(next) {
                share.inner.push(comment);
            }
            continue;
        }
        let previous = next.checked_sub(1);
        let trails = previous.and_then(|p| {
            let slot = slots.get(p)?;
            let free = shares.get(p)?.trailing.is_none();
            (free && same_line(source, slot.end, at)).then_some(p)
        });
        if let Some(p) = trails
            && let Some(share) = shares.get_mut(p)
        {
            share.trailing = Some(comment);
            continue;
        }
        match (slots.get(next), shares.get_mut(next)) {
            (Some(slot), Some(share)) if slot.lead => share.leading.push(comment),
            _ => left.push(comment),
        }
    }
    (shares, left)
}

/// No line break between `from` and `to`.
pub(crate) fn same_line(source: &str, from: usize, to: usize) -> bool {
    source
        .get(from..to)
        .is_some_and(|between| !between.contains('\n'))
}
