//! Comments placed on the laid-out lines, and the lines written out.
//!
//! Each comment finds its line by position in the source:
//!
//! - inside the source of a printed line (a construct printed on one line that spanned several):
//!   on its own line just before that line;
//! - after code on its line: at the end of the printed line that holds that code (a second such
//!   comment for the same line goes before it);
//! - on a line of its own: before the next printed line, at its indentation (inside the block
//!   when that line closes one); or after the previous line when it was indented deeper than the
//!   next one (a comment at the end of a rule's clauses); at the end of the file after the last.
//!
//! Trailing comments of the lines of a paragraph (between empty lines) are aligned in a column.

use super::MAX_WIDTH;
use super::comments::{Comment, Src};
use super::layout::{Blank, Line};

/// Where the comments go.
struct Placement<'c> {
    leading: Vec<Vec<&'c Comment>>,
    trailing: Vec<Option<&'c Comment>>,
    after: Vec<Vec<&'c Comment>>,
    end: Vec<&'c Comment>,
}

fn place<'c>(lines: &[Line], src: &'c Src<'_>) -> Placement<'c> {
    let n = lines.len();
    let mut placement = Placement {
        leading: vec![Vec::new(); n],
        trailing: vec![None; n],
        after: vec![Vec::new(); n],
        end: Vec::new(),
    };
    // (start, end, line), by start.
    let mut anchors: Vec<(usize, usize, usize)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, line)| line.anchor.map(|(s, e)| (s, e, i)))
        .collect();
    anchors.sort_by_key(|&(s, _, i)| (s, i));
    for comment in &src.comments {
        let p = comment.start;
        let k = anchors.partition_point(|&(s, _, _)| s < p);
        let previous = k.checked_sub(1).and_then(|j| anchors.get(j)).copied();
        if let Some((_, end, i)) = previous {
            if p < end {
                if let Some(group) = placement.leading.get_mut(i) {
                    group.push(comment);
                }
                continue;
            }
        }
        if comment.trailing {
            let code = src.code_end(0, p).saturating_sub(1);
            let j = anchors.partition_point(|&(s, _, _)| s <= code);
            if let Some(&(_, _, i)) = j.checked_sub(1).and_then(|j| anchors.get(j)) {
                match placement.trailing.get_mut(i) {
                    Some(slot @ None) => *slot = Some(comment),
                    _ => {
                        if let Some(group) = placement.leading.get_mut(i) {
                            group.push(comment);
                        }
                    }
                }
                continue;
            }
        }
        let Some(&(next_start, _, next)) = anchors.get(k) else {
            placement.end.push(comment);
            continue;
        };
        let deeper_than_next = |line: &Line| {
            lines.get(next).is_some_and(|n| {
                !n.closing && line.indent > n.indent && comment.column > src.column(next_start)
            })
        };
        match previous {
            Some((_, _, i)) if lines.get(i).is_some_and(deeper_than_next) => {
                if let Some(group) = placement.after.get_mut(i) {
                    group.push(comment);
                }
            }
            _ => {
                if let Some(group) = placement.leading.get_mut(next) {
                    group.push(comment);
                }
            }
        }
    }
    placement
}

/// An output line.
enum Out {
    Blank,
    Text {
        indent: usize,
        code: String,
        comment: Option<String>,
    },
}

fn push_blank(out: &mut Vec<Out>) {
    if matches!(out.last(), Some(Out::Text { .. })) {
        out.push(Out::Blank);
    }
}

fn push_text(out: &mut Vec<Out>, indent: usize, code: &str, comment: Option<&Comment>) {
    out.push(Out::Text {
        indent,
        code: code.to_string(),
        comment: comment.map(|c| c.text.clone()),
    });
}

/// The text of the lines with the source's comments.
pub(super) fn render(lines: &[Line], src: &Src<'_>) -> String {
    let placement = place(lines, src);
    let mut out: Vec<Out> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let group = placement.leading.get(i).map_or(&[][..], Vec::as_slice);
        let blank = match line.blank {
            Blank::Forced => true,
            Blank::Allowed => group.first().is_some_and(|c| c.blank_before),
            Blank::Never => false,
        };
        if blank {
            push_blank(&mut out);
        }
        let comment_indent = line.indent + if line.closing { 2 } else { 0 };
        for comment in group {
            push_text(&mut out, comment_indent, &comment.text, None);
            if line.top && comment.blank_after {
                push_blank(&mut out);
            }
        }
        let trailing = placement.trailing.get(i).copied().flatten();
        push_text(&mut out, line.indent, &line.text, trailing);
        for comment in placement.after.get(i).map_or(&[][..], Vec::as_slice) {
            push_text(&mut out, line.indent, &comment.text, None);
        }
    }
    if placement.end.first().is_some_and(|c| c.blank_before) {
        push_blank(&mut out);
    }
    let count = placement.end.len();
    for (j, comment) in placement.end.iter().enumerate() {
        push_text(&mut out, 0, &comment.text, None);
        if comment.blank_after && j + 1 < count {
            push_blank(&mut out);
        }
    }
    write(&out)
}

/// The lines as text. Trailing comments of the lines of a paragraph (lines between empty lines)
/// share a column, two spaces after the longest code among them; a line wider than
/// [`MAX_WIDTH`] keeps its comment two spaces after its code.
fn write(out: &[Out]) -> String {
    let code_width = |o: &Out| match o {
        Out::Text {
            indent,
            code,
            comment: Some(_),
        } => Some(indent + code.chars().count()),
        _ => None,
    };
    let mut columns = vec![0; out.len()];
    let mut start = 0;
    while start < out.len() {
        let end = (start..out.len())
            .find(|&j| matches!(out.get(j), Some(Out::Blank)))
            .unwrap_or(out.len());
        let widest = (start..end)
            .filter_map(|j| out.get(j).and_then(code_width))
            .filter(|&width| width <= MAX_WIDTH)
            .max()
            .unwrap_or(0);
        for j in start..end {
            if let (Some(width), Some(slot)) = (out.get(j).and_then(code_width), columns.get_mut(j))
            {
                *slot = widest.max(width) + 2;
            }
        }
        start = end + 1;
    }
    let mut text = String::new();
    for (o, column) in out.iter().zip(columns) {
        if let Out::Text {
            indent,
            code,
            comment,
        } = o
        {
            text.extend(std::iter::repeat_n(' ', *indent));
            text.push_str(code);
            if let Some(comment) = comment {
                let used = indent + code.chars().count();
                text.extend(std::iter::repeat_n(' ', column.saturating_sub(used)));
                text.push_str(comment);
            }
        }
        text.push('\n');
    }
    // A trailing empty line never survives: the text ends with one line feed.
    while text.ends_with("\n\n") {
        text.pop();
    }
    text
}
