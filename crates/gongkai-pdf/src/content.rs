//! The content-stream interpreter: runs a page's operators (and those of the form XObjects it
//! draws) and records what table reconstruction needs, namely every glyph with its text and box,
//! and every straight horizontal or vertical stroke (the table rulings), all in page
//! coordinates with the origin at the top-left corner and y growing downwards.

use crate::PdfError;
use crate::font::Font;
use crate::{Limits, limits};
use lopdf::content::Content;
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::collections::HashMap;
use std::rc::Rc;

/// A 2-D affine matrix `[a b c d e f]` as PDF writes it (row vector times matrix).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Matrix([f32; 6]);

impl Matrix {
    const IDENTITY: Matrix = Matrix([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);

    fn translate(tx: f32, ty: f32) -> Matrix {
        Matrix([1.0, 0.0, 0.0, 1.0, tx, ty])
    }

    /// `self × other`: apply `self` first, then `other`.
    fn then(self, other: Matrix) -> Matrix {
        let [a, b, c, d, e, f] = self.0;
        let [a2, b2, c2, d2, e2, f2] = other.0;
        Matrix([
            a * a2 + b * c2,
            a * b2 + b * d2,
            c * a2 + d * c2,
            c * b2 + d * d2,
            e * a2 + f * c2 + e2,
            e * b2 + f * d2 + f2,
        ])
    }

    fn apply(self, x: f32, y: f32) -> (f32, f32) {
        let [a, b, c, d, e, f] = self.0;
        (x * a + y * c + e, x * b + y * d + f)
    }

    fn from_operands(ops: &[Object]) -> Option<Matrix> {
        if ops.len() < 6 {
            return None;
        }
        let mut m = [0.0f32; 6];
        for (slot, op) in m.iter_mut().zip(ops) {
            *slot = op.as_float().ok()?;
        }
        m.iter().all(|v| v.is_finite()).then_some(Matrix(m))
    }
}

/// One shown glyph.
#[derive(Debug, Clone)]
pub(crate) struct Glyph {
    pub text: String,
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
    /// The em size in page units (the line height a glyph of this size needs).
    pub size: f32,
}

impl Glyph {
    pub fn cx(&self) -> f32 {
        (self.x0 + self.x1) / 2.0
    }

    pub fn cy(&self) -> f32 {
        (self.y0 + self.y1) / 2.0
    }
}

/// A horizontal (`y0 == y1`) or vertical (`x0 == x1`) stroke.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl Rule {
    pub fn horizontal(&self) -> bool {
        (self.y1 - self.y0).abs() < 0.01
    }
}

/// What one page holds.
#[derive(Debug, Default)]
pub(crate) struct PageContent {
    pub height: f32,
    pub glyphs: Vec<Glyph>,
    pub rules: Vec<Rule>,
}

#[derive(Clone)]
struct GraphicsState {
    ctm: Matrix,
    font: Option<Rc<Font>>,
    font_size: f32,
    char_spacing: f32,
    word_spacing: f32,
    horizontal_scaling: f32,
    leading: f32,
    rise: f32,
}

/// Counters shared by the whole document so that limits hold across pages.
#[derive(Debug)]
pub(crate) struct Budget {
    limits: Limits,
    operations: u64,
    glyphs: u64,
    content_bytes: u64,
}

impl Budget {
    pub fn new(limits: Limits) -> Budget {
        Budget {
            limits,
            operations: 0,
            glyphs: 0,
            content_bytes: 0,
        }
    }
}

struct Interpreter<'a> {
    doc: &'a Document,
    /// The media box `[x0 y0 x1 y1]` and the page's `/Rotate` (0, 90, 180 or 270), which map
    /// default user space (y up) to the page as displayed (origin top-left, y down).
    media: [f32; 4],
    rotate: u32,
    out: PageContent,
    fonts: HashMap<ObjectId, Rc<Font>>,
    budget: &'a mut Budget,
    /// Points of the path under construction, already in device space, as subpaths.
    path: Vec<Vec<(f32, f32)>>,
    /// Each subpath is known to be made only of straight segments (no curves).
    path_straight: Vec<bool>,
}

fn deref<'a>(doc: &'a Document, obj: &'a Object) -> &'a Object {
    doc.dereference(obj).map_or(obj, |(_, o)| o)
}

fn dict_of<'a>(doc: &'a Document, obj: &'a Object) -> Option<&'a Dictionary> {
    match deref(doc, obj) {
        Object::Dictionary(d) => Some(d),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    }
}

/// The page's media box, inherited through the page tree when the page has none.
pub(crate) fn media_box(doc: &Document, page: ObjectId) -> [f32; 4] {
    let mut node = doc.get_dictionary(page).ok();
    for _ in 0..32 {
        let Some(dict) = node else { break };
        if let Ok(Object::Array(a)) = dict.get(b"MediaBox").map(|o| deref(doc, o)) {
            let v: Vec<f32> = a
                .iter()
                .filter_map(|o| deref(doc, o).as_float().ok())
                .collect();
            if v.len() == 4 && v.iter().all(|x| x.is_finite()) {
                return [
                    v[0].min(v[2]),
                    v[1].min(v[3]),
                    v[0].max(v[2]),
                    v[1].max(v[3]),
                ];
            }
        }
        node = dict.get(b"Parent").ok().and_then(|p| dict_of(doc, p));
    }
    [0.0, 0.0, 612.0, 792.0]
}

/// The page's `/Rotate`, inherited through the page tree, as 0, 90, 180 or 270.
fn page_rotation(doc: &Document, page: ObjectId) -> u32 {
    let mut node = doc.get_dictionary(page).ok();
    for _ in 0..32 {
        let Some(dict) = node else { break };
        if let Ok(r) = dict
            .get(b"Rotate")
            .map(|o| deref(doc, o))
            .and_then(Object::as_i64)
        {
            return u32::try_from(r.rem_euclid(360) / 90 * 90).unwrap_or(0);
        }
        node = dict.get(b"Parent").ok().and_then(|p| dict_of(doc, p));
    }
    0
}

/// The resources of a page: its own, or the nearest ancestor's.
fn page_resources(doc: &Document, page: ObjectId) -> Option<&Dictionary> {
    let mut node = doc.get_dictionary(page).ok();
    for _ in 0..32 {
        let dict = node?;
        if let Some(res) = dict.get(b"Resources").ok().and_then(|r| dict_of(doc, r)) {
            return Some(res);
        }
        node = dict.get(b"Parent").ok().and_then(|p| dict_of(doc, p));
    }
    None
}

/// Runs one page.
pub(crate) fn interpret_page(
    doc: &Document,
    page: ObjectId,
    budget: &mut Budget,
) -> Result<PageContent, PdfError> {
    let media = media_box(doc, page);
    let rotate = page_rotation(doc, page);
    let [x0, y0, x1, y1] = media;
    let content = doc
        .get_page_content_with_limit(page, budget.limits.max_stream_bytes)
        .map_err(|e| match e {
            lopdf::Error::Decompress(_) => PdfError::TooLarge {
                what: "decompressed page content",
                limit: budget.limits.max_stream_bytes as u64,
            },
            other => PdfError::Damaged(format!("page content cannot be read: {other}")),
        })?;
    let mut interp = Interpreter {
        doc,
        media,
        rotate,
        out: PageContent {
            height: if rotate.is_multiple_of(180) {
                y1 - y0
            } else {
                x1 - x0
            },
            ..PageContent::default()
        },
        fonts: HashMap::new(),
        budget,
        path: Vec::new(),
        path_straight: Vec::new(),
    };
    let state = GraphicsState {
        ctm: Matrix::IDENTITY,
        font: None,
        font_size: 0.0,
        char_spacing: 0.0,
        word_spacing: 0.0,
        horizontal_scaling: 1.0,
        leading: 0.0,
        rise: 0.0,
    };
    let resources = page_resources(doc, page);
    interp.run(&content, resources, state, 0)?;
    Ok(interp.out)
}

fn f(ops: &[Object], i: usize) -> f32 {
    ops.get(i)
        .and_then(|o| o.as_float().ok())
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}

impl Interpreter<'_> {
    fn run(
        &mut self,
        content: &[u8],
        resources: Option<&Dictionary>,
        initial: GraphicsState,
        depth: usize,
    ) -> Result<(), PdfError> {
        self.budget.content_bytes += content.len() as u64;
        if self.budget.content_bytes > self.budget.limits.max_total_content_bytes {
            return Err(PdfError::TooLarge {
                what: "total page content",
                limit: self.budget.limits.max_total_content_bytes,
            });
        }
        let mut stack: Vec<GraphicsState> = Vec::new();
        let mut gs = initial;
        let mut tm = Matrix::IDENTITY;
        let mut tlm = Matrix::IDENTITY;
        for op in Content::decode_iter(content) {
            // A damaged tail of a content stream loses the rest of the page, not the document.
            let Ok(op) = op else { break };
            self.budget.operations += 1;
            if self.budget.operations > self.budget.limits.max_operations {
                return Err(PdfError::TooLarge {
                    what: "content stream operations",
                    limit: self.budget.limits.max_operations,
                });
            }
            let ops = &op.operands;
            match op.operator.as_str() {
                "q" if stack.len() < limits::MAX_STATE_DEPTH => stack.push(gs.clone()),
                "Q" => {
                    if let Some(saved) = stack.pop() {
                        gs = saved;
                    }
                }
                "cm" => {
                    if let Some(m) = Matrix::from_operands(ops) {
                        gs.ctm = m.then(gs.ctm);
                    }
                }
                "BT" => {
                    tm = Matrix::IDENTITY;
                    tlm = Matrix::IDENTITY;
                }
                "Tf" => {
                    gs.font_size = f(ops, 1);
                    gs.font = ops
                        .first()
                        .and_then(|o| o.as_name().ok())
                        .and_then(|name| self.font(resources, name));
                }
                "Tc" => gs.char_spacing = f(ops, 0),
                "Tw" => gs.word_spacing = f(ops, 0),
                "Tz" => gs.horizontal_scaling = f(ops, 0) / 100.0,
                "TL" => gs.leading = f(ops, 0),
                "Ts" => gs.rise = f(ops, 0),
                "Td" => {
                    tlm = Matrix::translate(f(ops, 0), f(ops, 1)).then(tlm);
                    tm = tlm;
                }
                "TD" => {
                    gs.leading = -f(ops, 1);
                    tlm = Matrix::translate(f(ops, 0), f(ops, 1)).then(tlm);
                    tm = tlm;
                }
                "Tm" => {
                    if let Some(m) = Matrix::from_operands(ops) {
                        tlm = m;
                        tm = m;
                    }
                }
                "T*" => {
                    tlm = Matrix::translate(0.0, -gs.leading).then(tlm);
                    tm = tlm;
                }
                "Tj" => {
                    if let Some(Ok(bytes)) = ops.first().map(Object::as_str) {
                        self.show(bytes, &gs, &mut tm)?;
                    }
                }
                "'" | "\"" => {
                    if op.operator == "\"" {
                        gs.word_spacing = f(ops, 0);
                        gs.char_spacing = f(ops, 1);
                    }
                    tlm = Matrix::translate(0.0, -gs.leading).then(tlm);
                    tm = tlm;
                    if let Some(Ok(bytes)) = ops.last().map(Object::as_str) {
                        self.show(bytes, &gs, &mut tm)?;
                    }
                }
                "TJ" => {
                    if let Some(Ok(items)) = ops.first().map(Object::as_array) {
                        for item in items {
                            match item {
                                Object::String(bytes, _) => self.show(bytes, &gs, &mut tm)?,
                                other => {
                                    let adjust =
                                        other.as_float().unwrap_or(0.0) / 1000.0 * gs.font_size;
                                    let vertical = gs.font.as_ref().is_some_and(|f| f.vertical);
                                    tm = if vertical {
                                        Matrix::translate(0.0, -adjust).then(tm)
                                    } else {
                                        Matrix::translate(-adjust * gs.horizontal_scaling, 0.0)
                                            .then(tm)
                                    };
                                }
                            }
                        }
                    }
                }
                "m" => {
                    let p = gs.ctm.apply(f(ops, 0), f(ops, 1));
                    self.path.push(vec![p]);
                    self.path_straight.push(true);
                }
                "l" => {
                    let p = gs.ctm.apply(f(ops, 0), f(ops, 1));
                    match self.path.last_mut() {
                        Some(sub) => sub.push(p),
                        None => {
                            self.path.push(vec![p]);
                            self.path_straight.push(true);
                        }
                    }
                }
                "c" | "v" | "y" => {
                    let n = ops.len();
                    let p = gs
                        .ctm
                        .apply(f(ops, n.saturating_sub(2)), f(ops, n.saturating_sub(1)));
                    if let (Some(sub), Some(straight)) =
                        (self.path.last_mut(), self.path_straight.last_mut())
                    {
                        sub.push(p);
                        *straight = false;
                    }
                }
                "h" => {
                    if let Some(sub) = self.path.last_mut()
                        && let Some(first) = sub.first().copied()
                    {
                        sub.push(first);
                    }
                }
                "re" => {
                    let (x, y, w, h) = (f(ops, 0), f(ops, 1), f(ops, 2), f(ops, 3));
                    let corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)];
                    self.path
                        .push(corners.iter().map(|&(a, b)| gs.ctm.apply(a, b)).collect());
                    self.path_straight.push(true);
                }
                "S" | "s" | "B" | "B*" | "b" | "b*" => self.paint(true),
                "f" | "F" | "f*" => self.paint(false),
                "n" => {
                    self.path.clear();
                    self.path_straight.clear();
                }
                "Do" => {
                    if let Some(name) = ops.first().and_then(|o| o.as_name().ok()) {
                        self.draw_xobject(resources, name, &gs, depth)?;
                    }
                }
                _ => {}
            }
            if self.path.len() > limits::MAX_PATH_POINTS {
                self.path.clear();
                self.path_straight.clear();
            }
        }
        Ok(())
    }

    fn font(&mut self, resources: Option<&Dictionary>, name: &[u8]) -> Option<Rc<Font>> {
        let fonts = resources?
            .get(b"Font")
            .ok()
            .and_then(|o| dict_of(self.doc, o))?;
        let entry = fonts.get(name).ok()?;
        if let Object::Reference(id) = entry {
            if let Some(font) = self.fonts.get(id) {
                return Some(font.clone());
            }
            let font = Rc::new(Font::load(self.doc, dict_of(self.doc, entry)?));
            self.fonts.insert(*id, font.clone());
            return Some(font);
        }
        Some(Rc::new(Font::load(self.doc, dict_of(self.doc, entry)?)))
    }

    fn to_page(&self, (x, y): (f32, f32)) -> (f32, f32) {
        let [x0, y0, x1, y1] = self.media;
        // A viewer turns the page clockwise by `/Rotate`; positions are those of the turned page.
        match self.rotate {
            90 => (y - y0, x - x0),
            180 => (x1 - x, y - y0),
            270 => (y1 - y, x1 - x),
            _ => (x - x0, y1 - y),
        }
    }

    fn show(&mut self, bytes: &[u8], gs: &GraphicsState, tm: &mut Matrix) -> Result<(), PdfError> {
        let Some(font) = gs.font.clone() else {
            return Ok(());
        };
        let fs = gs.font_size;
        let th = gs.horizontal_scaling;
        for code in font.decode(bytes) {
            let w0 = font.width(code.code) / 1000.0;
            let trm = Matrix([fs * th, 0.0, 0.0, fs, 0.0, gs.rise])
                .then(*tm)
                .then(gs.ctm);
            // Em-box corners in glyph space: horizontal glyphs sit on the baseline from x = 0
            // to their width; vertical ones hang below the pen, centred on it.
            let (gx0, gy0, gx1, gy1) = if font.vertical {
                (-w0 / 2.0, -1.0, w0 / 2.0, 0.0)
            } else {
                (0.0, -0.12, w0.max(0.0), 0.88)
            };
            let corners = [
                self.to_page(trm.apply(gx0, gy0)),
                self.to_page(trm.apply(gx1, gy0)),
                self.to_page(trm.apply(gx0, gy1)),
                self.to_page(trm.apply(gx1, gy1)),
            ];
            let (ex, ey) = (trm.0[2], trm.0[3]);
            let size = (ex * ex + ey * ey).sqrt();
            let text = code.text;
            if !text.trim().is_empty() && size.is_finite() && size > 0.0 {
                self.budget.glyphs += 1;
                if self.budget.glyphs > self.budget.limits.max_glyphs {
                    return Err(PdfError::TooLarge {
                        what: "glyphs",
                        limit: self.budget.limits.max_glyphs,
                    });
                }
                let xs = corners.map(|c| c.0);
                let ys = corners.map(|c| c.1);
                self.out.glyphs.push(Glyph {
                    text,
                    x0: xs.iter().copied().fold(f32::INFINITY, f32::min),
                    x1: xs.iter().copied().fold(f32::NEG_INFINITY, f32::max),
                    y0: ys.iter().copied().fold(f32::INFINITY, f32::min),
                    y1: ys.iter().copied().fold(f32::NEG_INFINITY, f32::max),
                    size,
                });
            }
            let word = if code.byte_len == 1 && code.code == 32 {
                gs.word_spacing
            } else {
                0.0
            };
            *tm = if font.vertical {
                let ty = font.vertical_advance / 1000.0 * fs + gs.char_spacing + word;
                Matrix::translate(0.0, ty).then(*tm)
            } else {
                let tx = (w0 * fs + gs.char_spacing + word) * th;
                Matrix::translate(tx, 0.0).then(*tm)
            };
        }
        Ok(())
    }

    /// Turns the straight axis-aligned parts of the current path into rules: stroked segments,
    /// and filled rectangles thin enough to be drawn lines (a common way to draw borders).
    fn paint(&mut self, stroke: bool) {
        let path = std::mem::take(&mut self.path);
        let straight = std::mem::take(&mut self.path_straight);
        for (sub, straight) in path.iter().zip(straight) {
            let page: Vec<(f32, f32)> = sub.iter().map(|&p| self.to_page(p)).collect();
            if stroke {
                for pair in page.windows(2) {
                    self.add_rule(pair[0], pair[1]);
                }
            } else if straight && page.len() >= 2 {
                let (mut x0, mut y0, mut x1, mut y1) = (
                    f32::INFINITY,
                    f32::INFINITY,
                    f32::NEG_INFINITY,
                    f32::NEG_INFINITY,
                );
                for &(x, y) in &page {
                    x0 = x0.min(x);
                    x1 = x1.max(x);
                    y0 = y0.min(y);
                    y1 = y1.max(y);
                }
                let thin = limits::THIN_FILL;
                if y1 - y0 <= thin && x1 - x0 > thin {
                    let y = (y0 + y1) / 2.0;
                    self.add_rule((x0, y), (x1, y));
                } else if x1 - x0 <= thin && y1 - y0 > thin {
                    let x = (x0 + x1) / 2.0;
                    self.add_rule((x, y0), (x, y1));
                }
            }
        }
    }

    fn add_rule(&mut self, (ax, ay): (f32, f32), (bx, by): (f32, f32)) {
        if self.out.rules.len() >= limits::MAX_RULES_PER_PAGE
            || ![ax, ay, bx, by].iter().all(|v| v.is_finite())
        {
            return;
        }
        if (ay - by).abs() < 0.5 && (ax - bx).abs() >= 1.0 {
            let y = (ay + by) / 2.0;
            self.out.rules.push(Rule {
                x0: ax.min(bx),
                x1: ax.max(bx),
                y0: y,
                y1: y,
            });
        } else if (ax - bx).abs() < 0.5 && (ay - by).abs() >= 1.0 {
            let x = (ax + bx) / 2.0;
            self.out.rules.push(Rule {
                x0: x,
                x1: x,
                y0: ay.min(by),
                y1: ay.max(by),
            });
        }
    }

    fn draw_xobject(
        &mut self,
        resources: Option<&Dictionary>,
        name: &[u8],
        gs: &GraphicsState,
        depth: usize,
    ) -> Result<(), PdfError> {
        if depth >= limits::MAX_FORM_DEPTH {
            return Ok(());
        }
        let Some(xobjects) = resources
            .and_then(|r| r.get(b"XObject").ok())
            .and_then(|o| dict_of(self.doc, o))
        else {
            return Ok(());
        };
        let Ok(Object::Stream(stream)) = xobjects.get(name).map(|o| deref(self.doc, o)) else {
            return Ok(());
        };
        if stream.dict.get(b"Subtype").and_then(Object::as_name).ok() != Some(b"Form") {
            return Ok(());
        }
        let Ok(content) =
            stream.decompressed_content_with_limit(self.budget.limits.max_stream_bytes)
        else {
            return Ok(());
        };
        let matrix = stream
            .dict
            .get(b"Matrix")
            .ok()
            .map(|o| deref(self.doc, o))
            .and_then(|o| o.as_array().ok())
            .and_then(|a| Matrix::from_operands(a))
            .unwrap_or(Matrix::IDENTITY);
        let form_resources = stream
            .dict
            .get(b"Resources")
            .ok()
            .and_then(|o| dict_of(self.doc, o))
            .or(resources);
        let mut inner = gs.clone();
        inner.ctm = matrix.then(gs.ctm);
        // The form's own path must not leak into the caller's.
        let saved_path = std::mem::take(&mut self.path);
        let saved_straight = std::mem::take(&mut self.path_straight);
        let result = self.run(&content, form_resources, inner, depth + 1);
        self.path = saved_path;
        self.path_straight = saved_straight;
        result
    }
}
