//! A tokenizer and tree builder for the markup real reports use, much cheaper than html5ever
//! with a full DOM: it keeps only what the reader looks at ([`crate::tree`]).
//!
//! It follows the HTML standard's tokenizer and tree construction for what it models: implied
//! `html`/`head`/`body`/`tbody`, unclosed `<p>`, `<li>`, `<td>`, `<tr>`, end tags that close
//! the elements inside them, stray end tags, formatting elements closed early and reopened
//! (reconstruction), tables inside paragraphs, nested tables, raw text (`<style>`,
//! `<script>`, `<title>`, `<textarea>`), comments, and the common character references.
//! Content misplaced in a table is moved in front of it (foster parenting). Whenever the
//! markup needs anything else (the adoption agency's restructuring, foreign content, `<template>`,
//! framesets, an unknown character reference, …) it gives up with [`Unsupported`] and the
//! caller parses with html5ever instead, so the tree is html5ever's either way (tests compare
//! the two on real pages and on random tag soup).

use crate::tree::{Data, Elem, NONE, NodeId, Tag, Tree, hides, parse_span};
use std::borrow::Cow;

/// The markup needs tree construction this module does not model; parse it with html5ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unsupported(#[allow(dead_code)] pub &'static str);

type R<T> = Result<T, Unsupported>;

/// Distinct element names outside [`Tag`] (Word's `o:p`, `v:shape`, …) a page may use.
const MAX_OTHER_NAMES: usize = 64;

fn unsupported<T>(why: &'static str) -> R<T> {
    Err(Unsupported(why))
}

/// Builds the tree of `html`, or says that html5ever must.
pub(crate) fn build(html: &str) -> R<Tree<'_>> {
    if memchr::memchr(0, html.as_bytes()).is_some() {
        return unsupported("NUL");
    }
    let mut b = Builder {
        src: html,
        // Real pages have a node per 10 to 60 bytes.
        tree: Tree::new(html.len() / 16 + 64),
        stack: Vec::with_capacity(64),
        formatting: Vec::new(),
        mode: Mode::Initial,
        head: NONE,
        form: NONE,
        quirks: Quirks::Unknown,
        skip_newline: false,
        pending_raw: None,
        foster: false,
        table_text: Vec::new(),
        names: Vec::new(),
    };
    b.run()?;
    Ok(b.tree)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Initial,
    BeforeHtml,
    BeforeHead,
    InHead,
    AfterHead,
    InBody,
    InTable,
    InTableBody,
    InRow,
    InCell,
    InCaption,
    InColumnGroup,
    AfterBody,
    AfterAfterBody,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quirks {
    Yes,
    No,
    /// A doctype whose mode this module does not work out.
    Unknown,
}

/// How the tokenizer reads an element's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Raw {
    /// Text up to the end tag, character references decoded (`title`, `textarea`).
    Rcdata,
    /// Text up to the end tag as it is (`style`, `iframe`, …).
    Rawtext,
    Script,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    Marker,
    Element(NodeId),
}

#[derive(Debug)]
enum Token<'a> {
    /// `attributes`: whether the tag has any (a repeated `<html>` or `<body>` merges them);
    /// `hidden_input`: `type=hidden` (such an `<input>` may stand in a table).
    Start {
        elem: Elem,
        attributes: bool,
        hidden_input: bool,
    },
    End(Tag),
    Text(Cow<'a, str>),
    Eof,
}

struct Builder<'a> {
    src: &'a str,
    tree: Tree<'a>,
    stack: Vec<NodeId>,
    formatting: Vec<Entry>,
    mode: Mode,
    head: NodeId,
    form: NodeId,
    quirks: Quirks,
    /// A newline right after `<pre>`, `<listing>` or `<textarea>` is not content.
    skip_newline: bool,
    /// Set by a start tag whose element holds raw text: how the tokenizer reads it.
    pending_raw: Option<Raw>,
    /// Whether content is being foster parented (see `foster_parented`).
    foster: bool,
    /// Text held by a table until the next tag (see `in_table`).
    table_text: Vec<Cow<'a, str>>,
    /// Names of [`Tag::Other`] elements, by number.
    names: Vec<&'a [u8]>,
}

fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

fn all_space(s: &str) -> bool {
    s.bytes().all(is_space)
}

fn is_special(tag: Tag) -> bool {
    use Tag::*;
    matches!(
        tag,
        Address
            | Applet
            | Area
            | Article
            | Aside
            | Base
            | Basefont
            | Bgsound
            | Blockquote
            | Body
            | Br
            | Button
            | Caption
            | Center
            | Col
            | Colgroup
            | Dd
            | Details
            | Dir
            | Div
            | Dl
            | Dt
            | Embed
            | Fieldset
            | Figcaption
            | Figure
            | Footer
            | Form
            | Frame
            | Frameset
            | H1
            | H2
            | H3
            | H4
            | H5
            | H6
            | Head
            | Header
            | Hgroup
            | Hr
            | Html
            | Iframe
            | Img
            | Input
            | Isindex
            | Li
            | Link
            | Listing
            | Main
            | Marquee
            | Menu
            | Meta
            | Nav
            | Noembed
            | Noframes
            | Noscript
            | Object
            | Ol
            | P
            | Param
            | Plaintext
            | Pre
            | Script
            | Section
            | Select
            | Source
            | Style
            | Summary
            | Table
            | Tbody
            | Td
            | Template
            | Textarea
            | Tfoot
            | Th
            | Thead
            | Title
            | Tr
            | Track
            | Ul
            | Wbr
            | Xmp
    )
}

fn is_heading(tag: Tag) -> bool {
    matches!(
        tag,
        Tag::H1 | Tag::H2 | Tag::H3 | Tag::H4 | Tag::H5 | Tag::H6
    )
}

fn is_implied_end(tag: Tag) -> bool {
    use Tag::*;
    matches!(
        tag,
        Dd | Dt | Li | Option | Optgroup | P | Rb | Rp | Rt | Rtc
    )
}

#[derive(Clone, Copy)]
enum Scope {
    Default,
    Button,
    ListItem,
    Table,
}

fn bounds(scope: Scope, tag: Tag) -> bool {
    use Tag::*;
    let default = matches!(
        tag,
        Applet | Caption | Html | Table | Td | Th | Marquee | Object | Select | Template
    );
    match scope {
        Scope::Default => default,
        Scope::Button => default || tag == Button,
        Scope::ListItem => default || matches!(tag, Ol | Ul),
        Scope::Table => matches!(tag, Html | Table | Template),
    }
}

/// The named character references decoded here (with their `;`): those government pages
/// use. Any other name sends the page to html5ever, which knows them all.
fn named_reference(name: &[u8]) -> Option<&'static str> {
    Some(match name {
        b"nbsp" => "\u{A0}",
        b"amp" => "&",
        b"lt" => "<",
        b"gt" => ">",
        b"quot" => "\"",
        b"apos" => "'",
        b"ldquo" => "\u{201C}",
        b"rdquo" => "\u{201D}",
        b"lsquo" => "\u{2018}",
        b"rsquo" => "\u{2019}",
        b"mdash" => "\u{2014}",
        b"ndash" => "\u{2013}",
        b"hellip" => "\u{2026}",
        b"middot" => "\u{B7}",
        b"times" => "\u{D7}",
        b"divide" => "\u{F7}",
        b"copy" => "\u{A9}",
        b"reg" => "\u{AE}",
        b"emsp" => "\u{2003}",
        b"ensp" => "\u{2002}",
        b"thinsp" => "\u{2009}",
        b"yen" => "\u{A5}",
        b"deg" => "\u{B0}",
        b"plusmn" => "\u{B1}",
        b"le" => "\u{2264}",
        b"ge" => "\u{2265}",
        b"bull" => "\u{2022}",
        b"sect" => "\u{A7}",
        b"permil" => "\u{2030}",
        b"rarr" => "\u{2192}",
        b"larr" => "\u{2190}",
        b"zwnj" => "\u{200C}",
        b"zwj" => "\u{200D}",
        b"shy" => "\u{AD}",
        _ => return None,
    })
}

/// A character reference at the start of `rest` (which starts with `&`): its text and
/// length, `None` for a literal `&`.
fn reference(rest: &[u8]) -> R<Option<(Cow<'static, str>, usize)>> {
    let Some(&next) = rest.get(1) else {
        return Ok(None);
    };
    if next == b'#' {
        let (hex, start) = match rest.get(2) {
            Some(b'x' | b'X') => (true, 3),
            _ => (false, 2),
        };
        let digits = rest
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| {
                if hex {
                    b.is_ascii_hexdigit()
                } else {
                    b.is_ascii_digit()
                }
            })
            .count();
        if digits == 0 || digits > 6 || rest.get(start + digits) != Some(&b';') {
            return unsupported("numeric reference");
        }
        let text = std::str::from_utf8(&rest[start..start + digits]).unwrap_or("");
        let value = u32::from_str_radix(text, if hex { 16 } else { 10 })
            .map_err(|_| Unsupported("numeric reference"))?;
        let ok = matches!(value, 0x09 | 0x0A | 0x20..=0x7E) || value >= 0xA0;
        let c = char::from_u32(value)
            .filter(|_| ok)
            .ok_or(Unsupported("numeric reference"))?;
        return Ok(Some((Cow::Owned(c.to_string()), start + digits + 1)));
    }
    if !next.is_ascii_alphanumeric() {
        return Ok(None);
    }
    let len = rest[1..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    if rest.get(1 + len) != Some(&b';') {
        return unsupported("named reference without ;");
    }
    match named_reference(&rest[1..1 + len]) {
        Some(text) => Ok(Some((Cow::Borrowed(text), len + 2))),
        None => unsupported("named reference"),
    }
}

/// Attributes of a tag as the reader needs them (the first of each name counts).
#[derive(Default)]
struct Attrs {
    any: bool,
    type_hidden: Option<bool>,
    hidden: bool,
    style_seen: bool,
    colspan: Option<Option<usize>>,
    rowspan: Option<Option<usize>>,
}

impl<'a> Builder<'a> {
    // ---- tokenizer ----

    fn run(&mut self) -> R<()> {
        let src = self.src;
        let bytes = src.as_bytes();
        let mut i = 0usize;
        let mut text_start = 0usize;
        while i < bytes.len() {
            let Some(off) = memchr::memchr2(b'<', b'&', &bytes[i..]) else {
                i = bytes.len();
                break;
            };
            i += off;
            if bytes[i] == b'&' {
                match reference(&bytes[i..])? {
                    None => i += 1,
                    Some((text, len)) => {
                        self.text(&src[text_start..i])?;
                        self.token(Token::Text(text))?;
                        i += len;
                        text_start = i;
                    }
                }
                continue;
            }
            // '<'
            let next = bytes.get(i + 1).copied();
            match next {
                Some(b'!') => {
                    self.text(&src[text_start..i])?;
                    i = self.markup_declaration(i)?;
                    text_start = i;
                }
                Some(b'?') => {
                    self.text(&src[text_start..i])?;
                    self.comment()?;
                    i = bogus_comment_end(bytes, i + 2);
                    text_start = i;
                }
                Some(b'/') => match bytes.get(i + 2) {
                    Some(c) if c.is_ascii_alphabetic() => {
                        self.text(&src[text_start..i])?;
                        i = self.tag(i + 2, true)?;
                        text_start = i;
                    }
                    Some(b'>') => {
                        self.text(&src[text_start..i])?;
                        i += 3;
                        text_start = i;
                    }
                    None => i = bytes.len(),
                    Some(_) => {
                        self.text(&src[text_start..i])?;
                        self.comment()?;
                        i = bogus_comment_end(bytes, i + 2);
                        text_start = i;
                    }
                },
                Some(c) if c.is_ascii_alphabetic() => {
                    self.text(&src[text_start..i])?;
                    i = self.tag(i + 1, false)?;
                    text_start = i;
                }
                _ => i += 1,
            }
        }
        self.text(&src[text_start..bytes.len().min(i)])?;
        self.token(Token::Eof)
    }

    fn text(&mut self, text: &'a str) -> R<()> {
        if text.is_empty() {
            return Ok(());
        }
        self.token(Token::Text(Cow::Borrowed(text)))
    }

    /// A comment: not kept, but a token all the same, so it ends held table text and stands
    /// between a `<pre>` and its first newline.
    fn comment(&mut self) -> R<()> {
        self.skip_newline = false;
        if !self.table_text.is_empty() {
            self.flush_table_text()?;
        }
        Ok(())
    }

    /// `<!…` at `i`: a comment, a doctype or a bogus comment. Returns where the data resumes.
    fn markup_declaration(&mut self, i: usize) -> R<usize> {
        let bytes = self.src.as_bytes();
        let rest = &bytes[i + 2..];
        if rest.starts_with(b"--") {
            self.comment()?;
            return Ok(comment_end(bytes, i + 4));
        }
        if rest.len() >= 7 && rest[..7].eq_ignore_ascii_case(b"doctype") {
            // html5ever drops a late doctype before any insertion mode sees it.
            self.skip_newline = false;
            let from = i + 9;
            let close = memchr::memchr(b'>', &bytes[from..]);
            if self.mode == Mode::Initial {
                self.quirks =
                    close.map_or(Quirks::Unknown, |c| doctype_quirks(&bytes[from..from + c]));
                self.mode = Mode::BeforeHtml;
            }
            return Ok(close.map_or(bytes.len(), |c| from + c + 1));
        }
        self.comment()?;
        Ok(bogus_comment_end(bytes, i + 2))
    }

    /// A start or end tag whose name starts at `i`. Returns where the data resumes.
    fn tag(&mut self, i: usize, end_tag: bool) -> R<usize> {
        let bytes = self.src.as_bytes();
        let name_len = bytes[i..]
            .iter()
            .take_while(|&&b| !is_space(b) && b != b'/' && b != b'>')
            .count();
        let raw_name = &bytes[i..i + name_len];
        let tag = self.tag_for(raw_name)?;
        let mut attrs = Attrs::default();
        let Some((end, _self_closing)) = self.attributes(i + name_len, &mut attrs)? else {
            // A tag cut off by the end of the input is dropped.
            return Ok(bytes.len());
        };
        if end_tag {
            self.token(Token::End(tag))?;
            return Ok(end);
        }
        let elem = Elem {
            tag,
            hidden: attrs.hidden,
            colspan: attrs.colspan.flatten(),
            rowspan: attrs.rowspan.flatten(),
        };
        let raw = self.start(elem, &attrs)?;
        match raw {
            None => Ok(end),
            Some(kind) => self.raw_text(end, kind, raw_name),
        }
    }

    fn start(&mut self, elem: Elem, attrs: &Attrs) -> R<Option<Raw>> {
        self.token(Token::Start {
            elem,
            attributes: attrs.any,
            hidden_input: attrs.type_hidden == Some(true),
        })?;
        Ok(self.pending_raw.take())
    }

    fn tag_for(&mut self, raw: &'a [u8]) -> R<Tag> {
        let mut buf = [0u8; 16];
        let lower: &[u8] = if raw.len() <= buf.len() {
            for (d, s) in buf.iter_mut().zip(raw) {
                *d = s.to_ascii_lowercase();
            }
            &buf[..raw.len()]
        } else {
            raw
        };
        if raw.len() <= buf.len()
            && let Some(tag) = Tag::known(lower)
        {
            return Ok(tag);
        }
        let n = match self.names.iter().position(|n| n.eq_ignore_ascii_case(raw)) {
            Some(n) => n,
            // Names are looked up one by one: a page inventing hundreds is left to html5ever.
            None if self.names.len() >= MAX_OTHER_NAMES => return unsupported("many names"),
            None => {
                self.names.push(raw);
                self.names.len() - 1
            }
        };
        Ok(Tag::Other(u32::try_from(n).unwrap_or(u32::MAX)))
    }

    /// Reads attributes from `i` (just after the tag name) to the tag's `>`: where the data
    /// resumes and whether the tag is self-closing, `None` if the input ends first.
    fn attributes(&mut self, mut i: usize, attrs: &mut Attrs) -> R<Option<(usize, bool)>> {
        let bytes = self.src.as_bytes();
        let mut seen_hidden = false;
        loop {
            // Before attribute name.
            while i < bytes.len() && is_space(bytes[i]) {
                i += 1;
            }
            match bytes.get(i) {
                None => return Ok(None),
                Some(b'>') => return Ok(Some((i + 1, false))),
                Some(b'/') => {
                    i += 1;
                    match bytes.get(i) {
                        None => return Ok(None),
                        Some(b'>') => return Ok(Some((i + 1, true))),
                        Some(_) => continue,
                    }
                }
                Some(_) => {}
            }
            // Attribute name: a leading '=' belongs to it.
            attrs.any = true;
            let name_start = i;
            i += 1;
            while i < bytes.len() && !is_space(bytes[i]) && !matches!(bytes[i], b'/' | b'>' | b'=')
            {
                i += 1;
            }
            let name = &bytes[name_start..i];
            // After attribute name.
            while i < bytes.len() && is_space(bytes[i]) {
                i += 1;
            }
            let value: Option<&'a str> = if bytes.get(i) == Some(&b'=') {
                i += 1;
                while i < bytes.len() && is_space(bytes[i]) {
                    i += 1;
                }
                match bytes.get(i) {
                    None => return Ok(None),
                    Some(b'>') => Some(""),
                    Some(&q @ (b'"' | b'\'')) => {
                        let start = i + 1;
                        let Some(len) = memchr::memchr(q, &bytes[start..]) else {
                            return Ok(None);
                        };
                        i = start + len + 1;
                        Some(&self.src[start..start + len])
                    }
                    Some(_) => {
                        let start = i;
                        while i < bytes.len() && !is_space(bytes[i]) && bytes[i] != b'>' {
                            i += 1;
                        }
                        Some(&self.src[start..i])
                    }
                }
            } else {
                None
            };
            let value_or_empty = value.unwrap_or("");
            let kind = match name.len() {
                5 if name.eq_ignore_ascii_case(b"style") => 1,
                6 if name.eq_ignore_ascii_case(b"hidden") => 2,
                7 if name.eq_ignore_ascii_case(b"colspan") => 3,
                7 if name.eq_ignore_ascii_case(b"rowspan") => 4,
                4 if name.eq_ignore_ascii_case(b"type") => 5,
                _ => 0,
            };
            if kind != 0 && memchr::memchr(b'&', value_or_empty.as_bytes()).is_some() {
                return unsupported("reference in attribute");
            }
            match kind {
                1 if !attrs.style_seen => {
                    attrs.style_seen = true;
                    attrs.hidden |= hides(value_or_empty);
                }
                2 if !seen_hidden => {
                    seen_hidden = true;
                    attrs.hidden = true;
                }
                3 if attrs.colspan.is_none() => attrs.colspan = Some(parse_span(value_or_empty)),
                4 if attrs.rowspan.is_none() => attrs.rowspan = Some(parse_span(value_or_empty)),
                5 if attrs.type_hidden.is_none() => {
                    attrs.type_hidden = Some(value_or_empty.eq_ignore_ascii_case("hidden"));
                }
                _ => {}
            }
        }
    }

    /// The content of a raw text element (its start tag ended at `i`), up to its end tag.
    fn raw_text(&mut self, i: usize, kind: Raw, raw_name: &[u8]) -> R<usize> {
        let src = self.src;
        let bytes = src.as_bytes();
        let mut at = i;
        let end = loop {
            let Some(off) = memchr::memchr(b'<', &bytes[at..]) else {
                break None;
            };
            let lt = at + off;
            if bytes.get(lt + 1) != Some(&b'/') {
                at = lt + 1;
                continue;
            }
            let after = lt + 2 + raw_name.len();
            if bytes
                .get(lt + 2..after)
                .is_some_and(|n| n.eq_ignore_ascii_case(raw_name))
                && bytes
                    .get(after)
                    .is_some_and(|&b| is_space(b) || b == b'/' || b == b'>')
            {
                break Some(lt);
            }
            at = lt + 2;
        };
        let content_end = end.unwrap_or(bytes.len());
        let mut content = &src[i..content_end];
        if std::mem::take(&mut self.skip_newline) {
            content = strip_newline(content);
        }
        if kind == Raw::Script && content.contains("<!--") {
            return unsupported("escaped script");
        }
        if kind == Raw::Rcdata {
            let mut start = 0;
            let cb = content.as_bytes();
            let mut j = 0;
            while let Some(off) = memchr::memchr(b'&', &cb[j..]) {
                j += off;
                match reference(&cb[j..])? {
                    None => j += 1,
                    Some((text, len)) => {
                        self.raw_piece(&content[start..j]);
                        self.insert_text(text);
                        j += len;
                        start = j;
                    }
                }
            }
            self.raw_piece(&content[start..]);
        } else {
            self.raw_piece(content);
        }
        // The element ends with its end tag or with the input.
        self.pop();
        let Some(lt) = end else {
            return Ok(bytes.len());
        };
        let mut attrs = Attrs::default();
        Ok(self
            .attributes(lt + 2 + raw_name.len(), &mut attrs)?
            .map_or(bytes.len(), |(resume, _)| resume))
    }

    fn raw_piece(&mut self, text: &'a str) {
        if !text.is_empty() {
            self.insert_text(Cow::Borrowed(text));
        }
    }
}

/// Whether a doctype (what stands between `<!DOCTYPE` and `>`) puts the page in quirks mode,
/// for the doctypes pages use; any other is `Unknown`.
fn doctype_quirks(doctype: &[u8]) -> Quirks {
    let text = String::from_utf8_lossy(doctype).to_ascii_lowercase();
    let mut rest = text.trim_matches(|c: char| is_space(c as u8) && c.is_ascii());
    let Some(after_name) = rest.strip_prefix("html") else {
        return Quirks::Unknown;
    };
    rest = after_name;
    if rest.is_empty() {
        return Quirks::No;
    }
    let quoted = |s: &str| -> Option<(String, usize)> {
        let q = s.chars().next().filter(|c| matches!(c, '"' | '\''))?;
        let end = s[1..].find(q)?;
        Some((s[1..1 + end].to_owned(), end + 2))
    };
    let Some(after_public) = rest
        .strip_prefix(|c: char| c.is_ascii() && is_space(c as u8))
        .map(|r| r.trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8)))
        .and_then(|r| r.strip_prefix("public"))
        .and_then(|r| r.strip_prefix(|c: char| c.is_ascii() && is_space(c as u8)))
        .map(|r| r.trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8)))
    else {
        return Quirks::Unknown;
    };
    let Some((public, used)) = quoted(after_public) else {
        return Quirks::Unknown;
    };
    let tail = &after_public[used..];
    let system = if tail.is_empty() {
        None
    } else {
        let spaced = tail.trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8));
        if spaced.len() == tail.len() {
            return Quirks::Unknown;
        }
        match quoted(spaced) {
            Some((system, used)) if spaced[used..].is_empty() => Some(system),
            _ => return Quirks::Unknown,
        }
    };
    if system.as_deref().is_some_and(|s| s.contains("ibm")) {
        return Quirks::Unknown;
    }
    // html5ever's lists: XHTML 1.0 transitional and frameset are limited quirks, HTML 4.01
    // transitional and frameset are quirks without a system identifier.
    if public.starts_with("-//w3c//dtd xhtml ") || public.starts_with("-//w3c//dtd html 4.01//") {
        return Quirks::No;
    }
    if public.starts_with("-//w3c//dtd html 4.01 transitional//")
        || public.starts_with("-//w3c//dtd html 4.01 frameset//")
    {
        return if system.is_some() {
            Quirks::No
        } else {
            Quirks::Yes
        };
    }
    Quirks::Unknown
}

/// `text` without the newline it starts with, if any (CR LF and CR count as one).
fn strip_newline(text: &str) -> &str {
    text.strip_prefix("\r\n")
        .or_else(|| text.strip_prefix('\n'))
        .or_else(|| text.strip_prefix('\r'))
        .unwrap_or(text)
}

/// Where data resumes after a bogus comment whose content starts at `from`: after its `>`.
fn bogus_comment_end(bytes: &[u8], from: usize) -> usize {
    let from = from.min(bytes.len());
    memchr::memchr(b'>', &bytes[from..]).map_or(bytes.len(), |p| from + p + 1)
}

/// Where data resumes after a comment whose content starts at `from` (after `<!--`).
fn comment_end(bytes: &[u8], from: usize) -> usize {
    let from = from.min(bytes.len());
    let rest = &bytes[from..];
    if rest.starts_with(b">") {
        return from + 1;
    }
    if rest.starts_with(b"->") {
        return from + 2;
    }
    let mut at = from;
    while let Some(p) = memchr::memchr(b'>', &bytes[at..]) {
        let gt = at + p;
        let ends = (gt >= from + 2 && &bytes[gt - 2..gt] == b"--")
            || (gt >= from + 3 && &bytes[gt - 3..gt] == b"--!");
        if ends {
            return gt + 1;
        }
        at = gt + 1;
    }
    bytes.len()
}

// ---- tree construction ----

impl<'a> Builder<'a> {
    fn current(&self) -> NodeId {
        self.stack.last().copied().unwrap_or(0)
    }

    fn current_tag(&self) -> Option<Tag> {
        self.tree.tag(self.current())
    }

    fn tag_of(&self, id: NodeId) -> Tag {
        self.tree.tag(id).unwrap_or(Tag::Other(u32::MAX))
    }

    fn pop(&mut self) {
        self.stack.pop();
    }

    /// The table in front of which content goes, when it is foster parented.
    fn foster_table(&self) -> Option<NodeId> {
        if !self.foster
            || !matches!(
                self.current_tag(),
                Some(Tag::Table | Tag::Tbody | Tag::Tfoot | Tag::Thead | Tag::Tr)
            )
        {
            return None;
        }
        self.stack
            .iter()
            .rev()
            .copied()
            .find(|&id| self.tree.tag(id) == Some(Tag::Table))
    }

    fn insert(&mut self, elem: Elem) -> NodeId {
        let id = match self.foster_table() {
            Some(table) => self.tree.insert_before(table, Data::Element(elem)),
            None => self.tree.append(self.current(), Data::Element(elem)),
        };
        self.stack.push(id);
        id
    }

    fn insert_text(&mut self, text: Cow<'a, str>) {
        match self.foster_table() {
            Some(table) => {
                self.tree.insert_before(table, Data::Text(text));
            }
            None => self.tree.append_text(self.current(), text),
        }
    }

    fn in_scope(&self, scope: Scope, want: impl Fn(Tag) -> bool) -> bool {
        for &id in self.stack.iter().rev() {
            let tag = self.tag_of(id);
            if want(tag) {
                return true;
            }
            if bounds(scope, tag) {
                return false;
            }
        }
        false
    }

    fn has_in_scope(&self, scope: Scope, tag: Tag) -> bool {
        self.in_scope(scope, |t| t == tag)
    }

    fn pop_until(&mut self, want: impl Fn(Tag) -> bool) {
        while let Some(id) = self.stack.pop() {
            if want(self.tag_of(id)) {
                break;
            }
        }
    }

    fn generate_implied_end(&mut self, except: Option<Tag>) {
        while let Some(tag) = self.current_tag() {
            if is_implied_end(tag) && Some(tag) != except {
                self.pop();
            } else {
                break;
            }
        }
    }

    fn close_p_in_button_scope(&mut self) {
        if self.has_in_scope(Scope::Button, Tag::P) {
            self.close_p();
        }
    }

    fn close_p(&mut self) {
        self.generate_implied_end(Some(Tag::P));
        self.pop_until(|t| t == Tag::P);
    }

    fn on_stack(&self, id: NodeId) -> bool {
        self.stack.iter().rev().any(|&s| s == id)
    }

    fn reconstruct(&mut self) {
        let Some(&last) = self.formatting.last() else {
            return;
        };
        match last {
            Entry::Marker => return,
            Entry::Element(id) if self.on_stack(id) => return,
            Entry::Element(_) => {}
        }
        let mut i = self.formatting.len() - 1;
        while i > 0 {
            match self.formatting[i - 1] {
                Entry::Marker => break,
                Entry::Element(id) if self.on_stack(id) => break,
                Entry::Element(_) => i -= 1,
            }
        }
        for j in i..self.formatting.len() {
            if let Entry::Element(id) = self.formatting[j] {
                let elem = self
                    .tree
                    .elem(id)
                    .copied()
                    .unwrap_or(Elem::plain(Tag::Other(u32::MAX)));
                let clone = self.insert(elem);
                self.formatting[j] = Entry::Element(clone);
            }
        }
    }

    fn clear_formatting_to_marker(&mut self) {
        while let Some(e) = self.formatting.pop() {
            if e == Entry::Marker {
                break;
            }
        }
    }

    fn push_formatting(&mut self, id: NodeId, tag: Tag) -> R<()> {
        // The standard drops the earliest of three identical entries (Noah's ark); rather than
        // compare attributes, three of a name is left to html5ever.
        let same = self
            .formatting
            .iter()
            .rev()
            .take_while(|e| **e != Entry::Marker)
            .filter(|e| matches!(e, Entry::Element(x) if self.tag_of(*x) == tag))
            .count();
        if same >= 3 {
            return unsupported("Noah's ark");
        }
        self.formatting.push(Entry::Element(id));
        Ok(())
    }

    fn reset_mode(&mut self) -> R<()> {
        for (i, &id) in self.stack.iter().enumerate().rev() {
            let last = i == 0;
            let mode = match self.tag_of(id) {
                Tag::Td | Tag::Th if !last => Mode::InCell,
                Tag::Tr => Mode::InRow,
                Tag::Tbody | Tag::Thead | Tag::Tfoot => Mode::InTableBody,
                Tag::Caption => Mode::InCaption,
                Tag::Colgroup => Mode::InColumnGroup,
                Tag::Table => Mode::InTable,
                Tag::Template | Tag::Frameset => return unsupported("reset mode"),
                Tag::Head if !last => Mode::InHead,
                Tag::Body => Mode::InBody,
                Tag::Html => {
                    if self.head == NONE {
                        Mode::BeforeHead
                    } else {
                        Mode::AfterHead
                    }
                }
                _ => continue,
            };
            self.mode = mode;
            return Ok(());
        }
        self.mode = Mode::InBody;
        Ok(())
    }

    fn clear_to_context(&mut self, context: &[Tag]) {
        while let Some(tag) = self.current_tag() {
            if context.contains(&tag) || self.stack.is_empty() {
                break;
            }
            self.pop();
        }
    }

    fn token(&mut self, token: Token<'a>) -> R<()> {
        if !self.table_text.is_empty() && !matches!(token, Token::Text(_)) {
            self.flush_table_text()?;
        }
        let token = if std::mem::take(&mut self.skip_newline) {
            match token {
                Token::Text(Cow::Borrowed(t)) => {
                    let t = strip_newline(t);
                    if t.is_empty() {
                        return Ok(());
                    }
                    Token::Text(Cow::Borrowed(t))
                }
                other => other,
            }
        } else {
            token
        };
        self.process(token)
    }

    /// The length of the white space a text starts with, and whether that is all of it: the
    /// modes before `<body>` treat it apart.
    fn split_space(text: &str) -> (usize, bool) {
        let n = text.bytes().take_while(|&b| is_space(b)).count();
        (n, n == text.len())
    }

    fn process(&mut self, token: Token<'a>) -> R<()> {
        let mut token = token;
        loop {
            match self.mode {
                Mode::Initial => match &token {
                    Token::Text(t) => {
                        let (n, all) = Self::split_space(t);
                        if all {
                            return Ok(());
                        }
                        token = Token::Text(cut(t, n));
                        self.quirks = Quirks::Yes;
                        self.mode = Mode::BeforeHtml;
                    }
                    _ => {
                        self.quirks = Quirks::Yes;
                        self.mode = Mode::BeforeHtml;
                    }
                },
                Mode::BeforeHtml => match &token {
                    Token::Text(t) => {
                        let (n, all) = Self::split_space(t);
                        if all {
                            return Ok(());
                        }
                        token = Token::Text(cut(t, n));
                        self.insert(Elem::plain(Tag::Html));
                        self.mode = Mode::BeforeHead;
                    }
                    Token::Start { elem, .. } if elem.tag == Tag::Html => {
                        self.insert(*elem);
                        self.mode = Mode::BeforeHead;
                        return Ok(());
                    }
                    Token::End(tag)
                        if !matches!(tag, Tag::Head | Tag::Body | Tag::Html | Tag::Br) =>
                    {
                        return Ok(());
                    }
                    _ => {
                        self.insert(Elem::plain(Tag::Html));
                        self.mode = Mode::BeforeHead;
                    }
                },
                Mode::BeforeHead => match &token {
                    Token::Text(t) => {
                        let (n, all) = Self::split_space(t);
                        if all {
                            return Ok(());
                        }
                        token = Token::Text(cut(t, n));
                        self.head = self.insert(Elem::plain(Tag::Head));
                        self.mode = Mode::InHead;
                    }
                    Token::Start { elem, .. } if elem.tag == Tag::Html => {
                        return unsupported("html attributes merged");
                    }
                    Token::Start { elem, .. } if elem.tag == Tag::Head => {
                        self.head = self.insert(*elem);
                        self.mode = Mode::InHead;
                        return Ok(());
                    }
                    Token::End(tag)
                        if !matches!(tag, Tag::Head | Tag::Body | Tag::Html | Tag::Br) =>
                    {
                        return Ok(());
                    }
                    _ => {
                        self.head = self.insert(Elem::plain(Tag::Head));
                        self.mode = Mode::InHead;
                    }
                },
                Mode::InHead => match &token {
                    Token::Text(t) => {
                        let (n, all) = Self::split_space(t);
                        if n > 0 {
                            self.insert_text(cut_to(t, n));
                        }
                        if all {
                            return Ok(());
                        }
                        token = Token::Text(cut(t, n));
                        self.pop();
                        self.mode = Mode::AfterHead;
                    }
                    Token::Start { elem, .. } => match elem.tag {
                        Tag::Html => return unsupported("html attributes merged"),
                        Tag::Base | Tag::Basefont | Tag::Bgsound | Tag::Link | Tag::Meta => {
                            self.insert(*elem);
                            self.pop();
                            return Ok(());
                        }
                        Tag::Title => return self.raw(*elem, Raw::Rcdata),
                        Tag::Noscript | Tag::Noframes | Tag::Style => {
                            return self.raw(*elem, Raw::Rawtext);
                        }
                        Tag::Script => return self.raw(*elem, Raw::Script),
                        Tag::Template => return unsupported("template"),
                        Tag::Head => return Ok(()),
                        _ => {
                            self.pop();
                            self.mode = Mode::AfterHead;
                        }
                    },
                    Token::End(Tag::Head) => {
                        self.pop();
                        self.mode = Mode::AfterHead;
                        return Ok(());
                    }
                    Token::End(Tag::Body | Tag::Html | Tag::Br) | Token::Eof => {
                        self.pop();
                        self.mode = Mode::AfterHead;
                    }
                    Token::End(Tag::Template) => return unsupported("template"),
                    Token::End(_) => return Ok(()),
                },
                Mode::AfterHead => match &token {
                    Token::Text(t) => {
                        let (n, all) = Self::split_space(t);
                        if n > 0 {
                            self.insert_text(cut_to(t, n));
                        }
                        if all {
                            return Ok(());
                        }
                        token = Token::Text(cut(t, n));
                        self.insert(Elem::plain(Tag::Body));
                        self.mode = Mode::InBody;
                    }
                    Token::Start { elem, .. } => match elem.tag {
                        Tag::Html => return unsupported("html attributes merged"),
                        Tag::Body => {
                            self.insert(*elem);
                            self.mode = Mode::InBody;
                            return Ok(());
                        }
                        Tag::Frameset | Tag::Template => return unsupported("frameset"),
                        Tag::Base
                        | Tag::Basefont
                        | Tag::Bgsound
                        | Tag::Link
                        | Tag::Meta
                        | Tag::Noframes
                        | Tag::Script
                        | Tag::Style
                        | Tag::Title => {
                            // Into the head, which is closed again after it.
                            let head = self.head;
                            self.stack.push(head);
                            self.mode = Mode::InHead;
                            self.process(token)?;
                            if let Some(p) = self.stack.iter().rposition(|&s| s == head) {
                                self.stack.remove(p);
                            }
                            self.mode = Mode::AfterHead;
                            return Ok(());
                        }
                        Tag::Head => return Ok(()),
                        _ => {
                            self.insert(Elem::plain(Tag::Body));
                            self.mode = Mode::InBody;
                        }
                    },
                    Token::End(Tag::Template) => return unsupported("template"),
                    Token::End(Tag::Body | Tag::Html | Tag::Br) | Token::Eof => {
                        self.insert(Elem::plain(Tag::Body));
                        self.mode = Mode::InBody;
                    }
                    Token::End(_) => return Ok(()),
                },
                Mode::InBody => return self.in_body(token),
                Mode::InTable => match self.in_table(token)? {
                    None => return Ok(()),
                    Some(t) => token = t,
                },
                Mode::InTableBody => match &token {
                    Token::Start { elem, .. } if elem.tag == Tag::Tr => {
                        self.clear_to_context(&[Tag::Tbody, Tag::Tfoot, Tag::Thead, Tag::Html]);
                        self.insert(*elem);
                        self.mode = Mode::InRow;
                        return Ok(());
                    }
                    Token::Start { elem, .. } if matches!(elem.tag, Tag::Td | Tag::Th) => {
                        self.clear_to_context(&[Tag::Tbody, Tag::Tfoot, Tag::Thead, Tag::Html]);
                        self.insert(Elem::plain(Tag::Tr));
                        self.mode = Mode::InRow;
                    }
                    Token::End(tag @ (Tag::Tbody | Tag::Tfoot | Tag::Thead)) => {
                        if self.has_in_scope(Scope::Table, *tag) {
                            self.clear_to_context(&[Tag::Tbody, Tag::Tfoot, Tag::Thead, Tag::Html]);
                            self.pop();
                            self.mode = Mode::InTable;
                        }
                        return Ok(());
                    }
                    Token::Start { elem, .. }
                        if matches!(
                            elem.tag,
                            Tag::Caption
                                | Tag::Col
                                | Tag::Colgroup
                                | Tag::Tbody
                                | Tag::Tfoot
                                | Tag::Thead
                        ) =>
                    {
                        if !self.table_body_in_scope() {
                            return Ok(());
                        }
                        self.clear_to_context(&[Tag::Tbody, Tag::Tfoot, Tag::Thead, Tag::Html]);
                        self.pop();
                        self.mode = Mode::InTable;
                    }
                    Token::End(Tag::Table) => {
                        if !self.table_body_in_scope() {
                            return Ok(());
                        }
                        self.clear_to_context(&[Tag::Tbody, Tag::Tfoot, Tag::Thead, Tag::Html]);
                        self.pop();
                        self.mode = Mode::InTable;
                    }
                    Token::End(
                        Tag::Body
                        | Tag::Caption
                        | Tag::Col
                        | Tag::Colgroup
                        | Tag::Html
                        | Tag::Td
                        | Tag::Th
                        | Tag::Tr,
                    ) => return Ok(()),
                    _ => match self.in_table(token)? {
                        None => return Ok(()),
                        Some(t) => token = t,
                    },
                },
                Mode::InRow => match &token {
                    Token::Start { elem, .. } if matches!(elem.tag, Tag::Td | Tag::Th) => {
                        self.clear_to_context(&[Tag::Tr, Tag::Html]);
                        self.insert(*elem);
                        self.mode = Mode::InCell;
                        self.formatting.push(Entry::Marker);
                        return Ok(());
                    }
                    Token::End(Tag::Tr) => {
                        if self.has_in_scope(Scope::Table, Tag::Tr) {
                            self.clear_to_context(&[Tag::Tr, Tag::Html]);
                            self.pop();
                            self.mode = Mode::InTableBody;
                        }
                        return Ok(());
                    }
                    Token::Start { elem, .. }
                        if matches!(
                            elem.tag,
                            Tag::Caption
                                | Tag::Col
                                | Tag::Colgroup
                                | Tag::Tbody
                                | Tag::Tfoot
                                | Tag::Thead
                                | Tag::Tr
                        ) =>
                    {
                        if !self.has_in_scope(Scope::Table, Tag::Tr) {
                            return Ok(());
                        }
                        self.clear_to_context(&[Tag::Tr, Tag::Html]);
                        self.pop();
                        self.mode = Mode::InTableBody;
                    }
                    Token::End(Tag::Table) => {
                        if !self.has_in_scope(Scope::Table, Tag::Tr) {
                            return Ok(());
                        }
                        self.clear_to_context(&[Tag::Tr, Tag::Html]);
                        self.pop();
                        self.mode = Mode::InTableBody;
                    }
                    Token::End(tag @ (Tag::Tbody | Tag::Tfoot | Tag::Thead)) => {
                        if !self.has_in_scope(Scope::Table, *tag)
                            || !self.has_in_scope(Scope::Table, Tag::Tr)
                        {
                            return Ok(());
                        }
                        self.clear_to_context(&[Tag::Tr, Tag::Html]);
                        self.pop();
                        self.mode = Mode::InTableBody;
                    }
                    Token::End(
                        Tag::Body
                        | Tag::Caption
                        | Tag::Col
                        | Tag::Colgroup
                        | Tag::Html
                        | Tag::Td
                        | Tag::Th,
                    ) => return Ok(()),
                    _ => match self.in_table(token)? {
                        None => return Ok(()),
                        Some(t) => token = t,
                    },
                },
                Mode::InCell => match &token {
                    Token::End(tag @ (Tag::Td | Tag::Th)) => {
                        let tag = *tag;
                        if self.has_in_scope(Scope::Table, tag) {
                            self.generate_implied_end(None);
                            self.pop_until(|t| t == tag);
                            self.clear_formatting_to_marker();
                            self.mode = Mode::InRow;
                        }
                        return Ok(());
                    }
                    Token::Start { elem, .. }
                        if matches!(
                            elem.tag,
                            Tag::Caption
                                | Tag::Col
                                | Tag::Colgroup
                                | Tag::Tbody
                                | Tag::Td
                                | Tag::Tfoot
                                | Tag::Th
                                | Tag::Thead
                                | Tag::Tr
                        ) =>
                    {
                        if !self.in_scope(Scope::Table, |t| matches!(t, Tag::Td | Tag::Th)) {
                            return unsupported("cell without cell");
                        }
                        self.close_cell();
                    }
                    Token::End(Tag::Body | Tag::Caption | Tag::Col | Tag::Colgroup | Tag::Html) => {
                        return Ok(());
                    }
                    Token::End(
                        tag @ (Tag::Table | Tag::Tbody | Tag::Tfoot | Tag::Thead | Tag::Tr),
                    ) => {
                        if !self.has_in_scope(Scope::Table, *tag) {
                            return Ok(());
                        }
                        self.close_cell();
                    }
                    _ => return self.in_body(token),
                },
                Mode::InCaption => match &token {
                    Token::End(Tag::Caption) => {
                        self.close_caption();
                        return Ok(());
                    }
                    Token::Start { elem, .. }
                        if matches!(
                            elem.tag,
                            Tag::Caption
                                | Tag::Col
                                | Tag::Colgroup
                                | Tag::Tbody
                                | Tag::Td
                                | Tag::Tfoot
                                | Tag::Th
                                | Tag::Thead
                                | Tag::Tr
                        ) =>
                    {
                        if !self.close_caption() {
                            return Ok(());
                        }
                    }
                    Token::End(Tag::Table) => {
                        if !self.close_caption() {
                            return Ok(());
                        }
                    }
                    Token::End(
                        Tag::Body
                        | Tag::Col
                        | Tag::Colgroup
                        | Tag::Html
                        | Tag::Tbody
                        | Tag::Td
                        | Tag::Tfoot
                        | Tag::Th
                        | Tag::Thead
                        | Tag::Tr,
                    ) => return Ok(()),
                    _ => return self.in_body(token),
                },
                Mode::InColumnGroup => match &token {
                    Token::Text(t) if Self::split_space(t).0 > 0 => {
                        // White space stays in the column group, the rest closes it.
                        let (n, all) = Self::split_space(t);
                        self.insert_text(cut_to(t, n));
                        if all {
                            return Ok(());
                        }
                        token = Token::Text(cut(t, n));
                    }
                    Token::Start { elem, .. } if elem.tag == Tag::Col => {
                        self.insert(*elem);
                        self.pop();
                        return Ok(());
                    }
                    Token::Start { elem, .. } if elem.tag == Tag::Html => {
                        return unsupported("html attributes merged");
                    }
                    Token::End(Tag::Colgroup) => {
                        if self.current_tag() == Some(Tag::Colgroup) {
                            self.pop();
                            self.mode = Mode::InTable;
                        }
                        return Ok(());
                    }
                    Token::End(Tag::Col) => return Ok(()),
                    Token::Start { elem, .. } if elem.tag == Tag::Template => {
                        return unsupported("template");
                    }
                    Token::End(Tag::Template) => return unsupported("template"),
                    Token::Eof => return Ok(()),
                    _ => {
                        if self.current_tag() != Some(Tag::Colgroup) {
                            return Ok(());
                        }
                        self.pop();
                        self.mode = Mode::InTable;
                    }
                },
                Mode::AfterBody => match &token {
                    Token::Text(t) if all_space(t) => return self.in_body(token),
                    Token::Start { elem, .. } if elem.tag == Tag::Html => {
                        return unsupported("html attributes merged");
                    }
                    Token::End(Tag::Html) => {
                        self.mode = Mode::AfterAfterBody;
                        return Ok(());
                    }
                    Token::Eof => return Ok(()),
                    _ => self.mode = Mode::InBody,
                },
                Mode::AfterAfterBody => match &token {
                    Token::Text(t) if all_space(t) => return self.in_body(token),
                    Token::Start { elem, .. } if elem.tag == Tag::Html => {
                        return unsupported("html attributes merged");
                    }
                    Token::Eof => return Ok(()),
                    _ => self.mode = Mode::InBody,
                },
            }
        }
    }

    fn table_body_in_scope(&self) -> bool {
        self.in_scope(Scope::Table, |t| {
            matches!(t, Tag::Tbody | Tag::Thead | Tag::Tfoot)
        })
    }

    fn close_cell(&mut self) {
        self.generate_implied_end(None);
        self.pop_until(|t| matches!(t, Tag::Td | Tag::Th));
        self.clear_formatting_to_marker();
        self.mode = Mode::InRow;
    }

    /// Closes the caption if one is in table scope; whether it did.
    fn close_caption(&mut self) -> bool {
        if !self.has_in_scope(Scope::Table, Tag::Caption) {
            return false;
        }
        self.generate_implied_end(None);
        self.pop_until(|t| t == Tag::Caption);
        self.clear_formatting_to_marker();
        self.mode = Mode::InTable;
        true
    }

    /// Content misplaced in a table: read by the "in body" rules, inserted in front of the
    /// table wherever it would have gone into the table itself.
    fn foster_parented(&mut self, token: Token<'a>) -> R<()> {
        self.foster = true;
        let done = self.in_body(token);
        self.foster = false;
        done
    }

    /// The text held by a table (see `in_table`), now that a tag or the end has come.
    fn flush_table_text(&mut self) -> R<()> {
        let pieces = std::mem::take(&mut self.table_text);
        if pieces.iter().all(|t| all_space(t)) {
            for t in pieces {
                self.insert_text(t);
            }
            return Ok(());
        }
        for t in pieces {
            self.foster_parented(Token::Text(t))?;
        }
        Ok(())
    }

    /// Inserts an element whose content the tokenizer reads as raw text.
    fn raw(&mut self, elem: Elem, kind: Raw) -> R<()> {
        self.insert(elem);
        self.pending_raw = Some(kind);
        Ok(())
    }

    /// The "in table" insertion mode; returns a token to reprocess in the new mode.
    fn in_table(&mut self, token: Token<'a>) -> R<Option<Token<'a>>> {
        const TABLE_CONTEXT: &[Tag] = &[Tag::Table, Tag::Template, Tag::Html];
        match &token {
            Token::Text(_) => {
                let here = matches!(
                    self.current_tag(),
                    Some(
                        Tag::Table | Tag::Tbody | Tag::Tfoot | Tag::Thead | Tag::Tr | Tag::Template
                    )
                );
                if !here {
                    return self.foster_parented(token).map(|()| None);
                }
                // Text in a table is held until the next tag: white space stays in the table,
                // anything else moves, with that white space, in front of it.
                if let Token::Text(t) = token {
                    self.table_text.push(t);
                }
                Ok(None)
            }
            Token::Start {
                elem, hidden_input, ..
            } => match elem.tag {
                Tag::Caption => {
                    self.clear_to_context(TABLE_CONTEXT);
                    self.formatting.push(Entry::Marker);
                    self.insert(*elem);
                    self.mode = Mode::InCaption;
                    Ok(None)
                }
                Tag::Colgroup => {
                    self.clear_to_context(TABLE_CONTEXT);
                    self.insert(*elem);
                    self.mode = Mode::InColumnGroup;
                    Ok(None)
                }
                Tag::Col => {
                    self.clear_to_context(TABLE_CONTEXT);
                    self.insert(Elem::plain(Tag::Colgroup));
                    self.mode = Mode::InColumnGroup;
                    Ok(Some(token))
                }
                Tag::Tbody | Tag::Tfoot | Tag::Thead => {
                    self.clear_to_context(TABLE_CONTEXT);
                    self.insert(*elem);
                    self.mode = Mode::InTableBody;
                    Ok(None)
                }
                Tag::Td | Tag::Th | Tag::Tr => {
                    self.clear_to_context(TABLE_CONTEXT);
                    self.insert(Elem::plain(Tag::Tbody));
                    self.mode = Mode::InTableBody;
                    Ok(Some(token))
                }
                Tag::Table => {
                    if !self.has_in_scope(Scope::Table, Tag::Table) {
                        return Ok(None);
                    }
                    self.pop_until(|t| t == Tag::Table);
                    self.reset_mode()?;
                    Ok(Some(token))
                }
                Tag::Style => {
                    self.raw(*elem, Raw::Rawtext)?;
                    Ok(None)
                }
                Tag::Script => {
                    self.raw(*elem, Raw::Script)?;
                    Ok(None)
                }
                Tag::Input if *hidden_input => {
                    self.insert(*elem);
                    self.pop();
                    Ok(None)
                }
                Tag::Form => {
                    if self.form == NONE {
                        self.form = self.insert(*elem);
                        self.pop();
                    }
                    Ok(None)
                }
                Tag::Template => unsupported("template"),
                _ => self.foster_parented(token).map(|()| None),
            },
            Token::End(Tag::Table) => {
                if self.has_in_scope(Scope::Table, Tag::Table) {
                    self.pop_until(|t| t == Tag::Table);
                    self.reset_mode()?;
                }
                Ok(None)
            }
            Token::End(
                Tag::Body
                | Tag::Caption
                | Tag::Col
                | Tag::Colgroup
                | Tag::Html
                | Tag::Tbody
                | Tag::Td
                | Tag::Tfoot
                | Tag::Th
                | Tag::Thead
                | Tag::Tr,
            ) => Ok(None),
            Token::Eof => Ok(None),
            Token::End(Tag::Template) => unsupported("template"),
            Token::End(_) => self.foster_parented(token).map(|()| None),
        }
    }

    fn in_body(&mut self, token: Token<'a>) -> R<()> {
        match token {
            Token::Text(t) => {
                self.reconstruct();
                self.insert_text(t);
                Ok(())
            }
            Token::Eof => Ok(()),
            Token::Start {
                elem, attributes, ..
            } => self.start_in_body(elem, attributes),
            Token::End(tag) => self.end_in_body(tag),
        }
    }

    fn start_in_body(&mut self, elem: Elem, attributes: bool) -> R<()> {
        use Tag::*;
        match elem.tag {
            // A repeated `<html>` or `<body>` adds its attributes to the first one.
            Html | Body if !attributes => Ok(()),
            Html | Body | Frameset | Template | Plaintext | Nobr | Applet | Marquee | Object
            | Math | Svg | Rb | Rtc | Rp | Rt | Menuitem | Isindex => {
                unsupported("element not modelled")
            }
            Base | Basefont | Bgsound | Link | Meta => {
                self.insert(elem);
                self.pop();
                Ok(())
            }
            Title => self.raw(elem, Raw::Rcdata),
            Noframes | Style => self.raw(elem, Raw::Rawtext),
            Script => self.raw(elem, Raw::Script),
            Address | Article | Aside | Blockquote | Center | Details | Dialog | Dir | Div | Dl
            | Fieldset | Figcaption | Figure | Footer | Header | Hgroup | Main | Nav | Ol | P
            | Search | Section | Summary | Ul | Menu => {
                self.close_p_in_button_scope();
                self.insert(elem);
                Ok(())
            }
            H1 | H2 | H3 | H4 | H5 | H6 => {
                self.close_p_in_button_scope();
                if self.current_tag().is_some_and(is_heading) {
                    self.pop();
                }
                self.insert(elem);
                Ok(())
            }
            Pre | Listing => {
                self.close_p_in_button_scope();
                self.insert(elem);
                self.skip_newline = true;
                Ok(())
            }
            Form => {
                if self.form != NONE {
                    return Ok(());
                }
                self.close_p_in_button_scope();
                self.form = self.insert(elem);
                Ok(())
            }
            Li | Dd | Dt => {
                let closes = |t: Tag| {
                    if elem.tag == Li {
                        t == Li
                    } else {
                        matches!(t, Dd | Dt)
                    }
                };
                let mut to_close = None;
                for &id in self.stack.iter().rev() {
                    let t = self.tag_of(id);
                    if closes(t) {
                        to_close = Some(t);
                        break;
                    }
                    if is_special(t) && !matches!(t, Address | Div | P) {
                        break;
                    }
                }
                if let Some(t) = to_close {
                    self.generate_implied_end(Some(t));
                    self.pop_until(|x| x == t);
                }
                self.close_p_in_button_scope();
                self.insert(elem);
                Ok(())
            }
            Button => {
                if self.has_in_scope(Scope::Default, Button) {
                    self.generate_implied_end(None);
                    self.pop_until(|t| t == Button);
                }
                self.reconstruct();
                self.insert(elem);
                Ok(())
            }
            A => {
                // An `a` left open (links in a list whose items close them) is closed first.
                let open_a = self
                    .formatting
                    .iter()
                    .rev()
                    .take_while(|e| **e != Entry::Marker)
                    .find_map(|e| match e {
                        Entry::Element(x) if self.tag_of(*x) == A => Some(*x),
                        _ => None,
                    });
                if let Some(a) = open_a {
                    self.adoption_agency(A)?;
                    if let Some(p) = self.formatting.iter().position(|e| *e == Entry::Element(a)) {
                        self.formatting.remove(p);
                    }
                    if let Some(p) = self.stack.iter().rposition(|&s| s == a) {
                        self.stack.remove(p);
                    }
                }
                self.reconstruct();
                let id = self.insert(elem);
                self.push_formatting(id, A)
            }
            B | Big | Code | Em | Font | I | S | Small | Strike | Strong | Tt | U => {
                self.reconstruct();
                let id = self.insert(elem);
                self.push_formatting(id, elem.tag)
            }
            Table => {
                if self.has_in_scope(Scope::Button, P) {
                    match self.quirks {
                        Quirks::Yes => {}
                        Quirks::No => self.close_p(),
                        Quirks::Unknown => return unsupported("table in p, doctype"),
                    }
                }
                self.insert(elem);
                self.mode = Mode::InTable;
                Ok(())
            }
            // html5ever reads `<select>` as the standard now does: an element in body whose
            // start tag, `<input>`, `<option>` and `<hr>` close what a select holds.
            Select => {
                if self.has_in_scope(Scope::Default, Select) {
                    self.pop_until(|t| t == Select);
                } else {
                    self.reconstruct();
                    self.insert(elem);
                }
                Ok(())
            }
            Input => {
                if self.has_in_scope(Scope::Default, Select) {
                    self.pop_until(|t| t == Select);
                }
                self.reconstruct();
                self.insert(elem);
                self.pop();
                Ok(())
            }
            Area | Br | Embed | Img | Keygen | Wbr => {
                self.reconstruct();
                self.insert(elem);
                self.pop();
                Ok(())
            }
            Image => {
                self.reconstruct();
                self.insert(Elem { tag: Img, ..elem });
                self.pop();
                Ok(())
            }
            Param | Source | Track => {
                self.insert(elem);
                self.pop();
                Ok(())
            }
            Hr => {
                self.close_p_in_button_scope();
                if self.has_in_scope(Scope::Default, Select) {
                    self.generate_implied_end(None);
                }
                self.insert(elem);
                self.pop();
                Ok(())
            }
            Textarea => {
                self.insert(elem);
                self.skip_newline = true;
                self.pending_raw = Some(Raw::Rcdata);
                Ok(())
            }
            Xmp => {
                self.close_p_in_button_scope();
                self.reconstruct();
                self.raw(elem, Raw::Rawtext)
            }
            Iframe | Noembed | Noscript => self.raw(elem, Raw::Rawtext),
            Optgroup | Option => {
                if self.has_in_scope(Scope::Default, Select) {
                    let except = if elem.tag == Option {
                        Some(Optgroup)
                    } else {
                        None
                    };
                    self.generate_implied_end(except);
                } else if self.current_tag() == Some(Option) {
                    self.pop();
                }
                self.reconstruct();
                self.insert(elem);
                Ok(())
            }
            Caption | Col | Colgroup | Frame | Head | Tbody | Td | Tfoot | Th | Thead | Tr => {
                Ok(())
            }
            _ => {
                self.reconstruct();
                self.insert(elem);
                Ok(())
            }
        }
    }

    fn end_in_body(&mut self, tag: Tag) -> R<()> {
        use Tag::*;
        match tag {
            Template | Applet | Marquee | Object => unsupported("end tag not modelled"),
            Body => {
                if self.has_in_scope(Scope::Default, Body) {
                    self.mode = Mode::AfterBody;
                }
                Ok(())
            }
            Html => {
                if self.has_in_scope(Scope::Default, Body) {
                    self.mode = Mode::AfterBody;
                    return self.process(Token::End(Html));
                }
                Ok(())
            }
            Address | Article | Aside | Blockquote | Button | Center | Details | Dialog | Dir
            | Div | Dl | Fieldset | Figcaption | Figure | Footer | Header | Hgroup | Listing
            | Main | Menu | Nav | Ol | Pre | Search | Section | Select | Summary | Ul => {
                if self.has_in_scope(Scope::Default, tag) {
                    self.generate_implied_end(None);
                    self.pop_until(|t| t == tag);
                }
                Ok(())
            }
            Form => {
                let node = std::mem::replace(&mut self.form, NONE);
                if node == NONE || !self.element_in_scope(node) {
                    return Ok(());
                }
                self.generate_implied_end(None);
                // The form may not be the current node: it leaves the stack, not the tree.
                if let Some(p) = self.stack.iter().rposition(|&s| s == node) {
                    self.stack.remove(p);
                }
                Ok(())
            }
            P => {
                if !self.has_in_scope(Scope::Button, P) {
                    self.insert(Elem::plain(P));
                }
                self.close_p();
                Ok(())
            }
            Li => {
                if self.has_in_scope(Scope::ListItem, Li) {
                    self.generate_implied_end(Some(Li));
                    self.pop_until(|t| t == Li);
                }
                Ok(())
            }
            Dd | Dt => {
                if self.has_in_scope(Scope::Default, tag) {
                    self.generate_implied_end(Some(tag));
                    self.pop_until(|t| t == tag);
                }
                Ok(())
            }
            H1 | H2 | H3 | H4 | H5 | H6 => {
                if self.in_scope(Scope::Default, is_heading) {
                    self.generate_implied_end(None);
                    self.pop_until(is_heading);
                }
                Ok(())
            }
            A | B | Big | Code | Em | Font | I | Nobr | S | Small | Strike | Strong | Tt | U => {
                self.adoption_agency(tag)
            }
            Br => self.start_in_body(Elem::plain(Br), false),
            _ => {
                self.any_other_end(tag);
                Ok(())
            }
        }
    }

    fn element_in_scope(&self, node: NodeId) -> bool {
        for &id in self.stack.iter().rev() {
            if id == node {
                return true;
            }
            if bounds(Scope::Default, self.tag_of(id)) {
                return false;
            }
        }
        false
    }

    fn any_other_end(&mut self, tag: Tag) {
        for i in (0..self.stack.len()).rev() {
            let t = self.tag_of(self.stack[i]);
            if t == tag {
                self.generate_implied_end(Some(tag));
                self.stack.truncate(i);
                return;
            }
            if is_special(t) {
                return;
            }
        }
    }

    /// The adoption agency algorithm for the cases that need no restructuring.
    fn adoption_agency(&mut self, tag: Tag) -> R<()> {
        let current = self.current();
        if self.tag_of(current) == tag && !self.formatting.contains(&Entry::Element(current)) {
            self.pop();
            return Ok(());
        }
        let found = self
            .formatting
            .iter()
            .rposition(|e| match e {
                Entry::Marker => true,
                Entry::Element(x) => self.tag_of(*x) == tag,
            })
            .filter(|&p| self.formatting[p] != Entry::Marker);
        let Some(pos) = found else {
            self.any_other_end(tag);
            return Ok(());
        };
        let Entry::Element(element) = self.formatting[pos] else {
            return Ok(());
        };
        let Some(at) = self.stack.iter().rposition(|&s| s == element) else {
            self.formatting.remove(pos);
            return Ok(());
        };
        if !self.element_in_scope(element) {
            return Ok(());
        }
        if self.stack[at + 1..]
            .iter()
            .any(|&s| is_special(self.tag_of(s)))
        {
            return unsupported("adoption agency");
        }
        self.stack.truncate(at);
        self.formatting.remove(pos);
        Ok(())
    }
}

/// `text` from byte `n` on.
fn cut<'a>(text: &Cow<'a, str>, n: usize) -> Cow<'a, str> {
    match text {
        Cow::Borrowed(t) => Cow::Borrowed(&t[n..]),
        Cow::Owned(t) => Cow::Owned(t[n..].to_owned()),
    }
}

/// `text` up to byte `n`.
fn cut_to<'a>(text: &Cow<'a, str>, n: usize) -> Cow<'a, str> {
    match text {
        Cow::Borrowed(t) => Cow::Borrowed(&t[..n]),
        Cow::Owned(t) => Cow::Owned(t[..n].to_owned()),
    }
}
