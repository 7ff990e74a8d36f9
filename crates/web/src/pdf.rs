//! A small dependency-free PDF 1.4 writer for letters, acknowledgements and printable lists.
//!
//! Pages are A4 portrait; text uses the standard 14 fonts Helvetica, Helvetica-Bold and Helvetica-Oblique in
//! WinAnsiEncoding, so French text (é è à ç ô œ « » €…) renders and is extracted correctly by text tools. Text is
//! word-wrapped with the Adobe AFM widths of Helvetica; content flows from top to bottom with automatic page breaks;
//! pages get a footer "Page n / N" when the document is finished.
//!
//! ```ignore
//! let mut doc = pdf::Document::new("Convocation");
//! doc.marianne_block("SPIP des Hauts-de-Seine");
//! doc.heading("Convocation");
//! doc.paragraph("Vous êtes convoqué(e) le lundi 3 mai 2027 à 14h30.");
//! doc.key_values(&[("Lieu", "SPIP 92"), ("Téléphone", "01 23 45 67 89")]);
//! doc.table(&["Heure", "Personne"], &[vec!["09h00".into(), "Jean Dupont".into()]]);
//! let bytes: Vec<u8> = doc.finish();
//! ```

use std::fmt::Write as _;

/// A4 portrait, in points.
pub const PAGE_WIDTH: f32 = 595.28;
pub const PAGE_HEIGHT: f32 = 841.89;
const MARGIN_X: f32 = 56.0;
const MARGIN_TOP: f32 = 56.0;
const MARGIN_BOTTOM: f32 = 60.0;

/// DSFR colours (RGB 0..1).
pub const BLUE_FRANCE: (f32, f32, f32) = (0.0, 0.0, 145.0 / 255.0);
pub const RED_MARIANNE: (f32, f32, f32) = (225.0 / 255.0, 0.0, 15.0 / 255.0);
pub const TEXT_GREY: (f32, f32, f32) = (22.0 / 255.0, 22.0 / 255.0, 22.0 / 255.0);
pub const MUTED_GREY: (f32, f32, f32) = (0.4, 0.4, 0.4);
pub const LIGHT_GREY: (f32, f32, f32) = (0.93, 0.93, 0.93);
pub const BORDER_GREY: (f32, f32, f32) = (0.8, 0.8, 0.8);

/// The three font faces available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    Regular,
    Bold,
    Italic,
}

impl Font {
    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
            Font::Italic => "F3",
        }
    }
}

/// A PDF document being built. Content flows downwards from the top margin of the current page.
pub struct Document {
    title: String,
    footer: Option<String>,
    pages: Vec<String>,
    cur: String,
    /// Current baseline position (distance from the bottom of the page).
    y: f32,
}

impl Document {
    pub fn new(title: &str) -> Document {
        Document {
            title: title.to_string(),
            footer: None,
            pages: Vec::new(),
            cur: String::new(),
            y: PAGE_HEIGHT - MARGIN_TOP,
        }
    }

    /// Text printed at the bottom-left of every page (next to the page number).
    pub fn footer(&mut self, text: &str) -> &mut Self {
        self.footer = Some(text.to_string());
        self
    }

    /// Usable width between the margins.
    pub fn content_width(&self) -> f32 {
        PAGE_WIDTH - 2.0 * MARGIN_X
    }

    /// Remaining vertical space on the current page.
    pub fn remaining(&self) -> f32 {
        self.y - MARGIN_BOTTOM
    }

    /// Starts a new page.
    pub fn new_page(&mut self) -> &mut Self {
        let content = std::mem::take(&mut self.cur);
        self.pages.push(content);
        self.y = PAGE_HEIGHT - MARGIN_TOP;
        self
    }

    /// Breaks the page when less than `height` points remain.
    pub fn ensure(&mut self, height: f32) -> &mut Self {
        if self.y - height < MARGIN_BOTTOM && self.y < PAGE_HEIGHT - MARGIN_TOP {
            self.new_page();
        }
        self
    }

    /// Vertical space.
    pub fn space(&mut self, height: f32) -> &mut Self {
        self.y -= height;
        if self.y < MARGIN_BOTTOM {
            self.new_page();
        }
        self
    }

    // ---- low-level drawing (absolute coordinates, origin bottom-left) ----

    /// Draws a single line of text at an absolute position (no wrapping).
    pub fn text_at(
        &mut self,
        x: f32,
        y: f32,
        font: Font,
        size: f32,
        color: (f32, f32, f32),
        text: &str,
    ) {
        let _ = writeln!(
            self.cur,
            "BT {} {} {} rg /{} {} Tf {} {} Td ({}) Tj ET",
            n(color.0),
            n(color.1),
            n(color.2),
            font.resource(),
            n(size),
            n(x),
            n(y),
            escape(text)
        );
    }

    /// Filled rectangle (x, y = bottom-left corner).
    pub fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: (f32, f32, f32)) {
        let _ = writeln!(
            self.cur,
            "{} {} {} rg {} {} {} {} re f",
            n(color.0),
            n(color.1),
            n(color.2),
            n(x),
            n(y),
            n(w),
            n(h)
        );
    }

    /// Stroked rectangle.
    pub fn stroke_rect(
        &mut self,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: (f32, f32, f32),
        width: f32,
    ) {
        let _ = writeln!(
            self.cur,
            "{} {} {} RG {} w {} {} {} {} re S",
            n(color.0),
            n(color.1),
            n(color.2),
            n(width),
            n(x),
            n(y),
            n(w),
            n(h)
        );
    }

    /// Straight line.
    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, color: (f32, f32, f32), width: f32) {
        let _ = writeln!(
            self.cur,
            "{} {} {} RG {} w {} {} m {} {} l S",
            n(color.0),
            n(color.1),
            n(color.2),
            n(width),
            n(x1),
            n(y1),
            n(x2),
            n(y2)
        );
    }

    // ---- flowing content ----

    /// Wrapped text in a given font, size and colour, indented by `indent` points.
    pub fn text(
        &mut self,
        text: &str,
        font: Font,
        size: f32,
        color: (f32, f32, f32),
        indent: f32,
    ) -> &mut Self {
        let leading = size * 1.35;
        let width = self.content_width() - indent;
        for line in wrap(text, font, size, width) {
            self.ensure(leading);
            self.y -= leading;
            let y = self.y + (leading - size) / 2.0;
            self.text_at(MARGIN_X + indent, y, font, size, color, &line);
        }
        self
    }

    /// Main title of the document (bold, 18 pt, blue France).
    pub fn title(&mut self, text: &str) -> &mut Self {
        self.ensure(60.0);
        self.space(6.0);
        self.text(text, Font::Bold, 18.0, BLUE_FRANCE, 0.0);
        self.space(6.0)
    }

    /// Section heading (bold, 13 pt), kept with at least a few lines of what follows.
    pub fn heading(&mut self, text: &str) -> &mut Self {
        self.ensure(60.0);
        self.space(8.0);
        self.text(text, Font::Bold, 13.0, TEXT_GREY, 0.0);
        self.space(2.0)
    }

    /// Body paragraph (10.5 pt), followed by a small gap.
    pub fn paragraph(&mut self, text: &str) -> &mut Self {
        for (i, part) in text.split('\n').enumerate() {
            if i > 0 || !part.is_empty() {
                self.text(part, Font::Regular, 10.5, TEXT_GREY, 0.0);
            }
        }
        self.space(4.0)
    }

    /// Bold paragraph.
    pub fn strong(&mut self, text: &str) -> &mut Self {
        self.text(text, Font::Bold, 10.5, TEXT_GREY, 0.0);
        self.space(4.0)
    }

    /// Small grey italic note.
    pub fn note(&mut self, text: &str) -> &mut Self {
        self.text(text, Font::Italic, 9.0, MUTED_GREY, 0.0);
        self.space(3.0)
    }

    /// Bulleted list.
    pub fn bullets(&mut self, items: &[&str]) -> &mut Self {
        let size = 10.5;
        let leading = size * 1.35;
        for item in items {
            let lines = wrap(item, Font::Regular, size, self.content_width() - 14.0);
            for (i, line) in lines.iter().enumerate() {
                self.ensure(leading);
                self.y -= leading;
                let y = self.y + (leading - size) / 2.0;
                if i == 0 {
                    self.text_at(MARGIN_X + 2.0, y, Font::Regular, size, TEXT_GREY, "•");
                }
                self.text_at(MARGIN_X + 14.0, y, Font::Regular, size, TEXT_GREY, line);
            }
        }
        self.space(4.0)
    }

    /// Horizontal rule across the content width.
    pub fn rule(&mut self) -> &mut Self {
        self.space(6.0);
        let y = self.y;
        self.line(MARGIN_X, y, PAGE_WIDTH - MARGIN_X, y, BORDER_GREY, 0.7);
        self.space(6.0)
    }

    /// Two columns: bold labels on the left (a third of the width), wrapped values on the right.
    pub fn key_values(&mut self, pairs: &[(&str, &str)]) -> &mut Self {
        let size = 10.5;
        let leading = size * 1.35;
        let key_w = self.content_width() * 0.34;
        let val_w = self.content_width() - key_w - 8.0;
        for (k, v) in pairs {
            let kl = wrap(k, Font::Bold, size, key_w);
            let vl: Vec<String> = v
                .split('\n')
                .flat_map(|p| wrap(p, Font::Regular, size, val_w))
                .collect();
            let rows = kl.len().max(vl.len()).max(1);
            self.ensure(leading * rows.min(4) as f32);
            for i in 0..rows {
                self.ensure(leading);
                self.y -= leading;
                let y = self.y + (leading - size) / 2.0;
                if let Some(k) = kl.get(i) {
                    self.text_at(MARGIN_X, y, Font::Bold, size, TEXT_GREY, k);
                }
                if let Some(v) = vl.get(i) {
                    self.text_at(MARGIN_X + key_w + 8.0, y, Font::Regular, size, TEXT_GREY, v);
                }
            }
            self.space(3.0);
        }
        self.space(3.0)
    }

    /// A table with a shaded header row (repeated after page breaks) and wrapped cells. Column widths are
    /// proportional to the natural width of their contents, with a minimum.
    pub fn table<S: AsRef<str>>(&mut self, headers: &[&str], rows: &[Vec<S>]) -> &mut Self {
        let size = 9.5;
        let cols = headers.len().max(1);
        let total = self.content_width();
        let pad = 4.0;
        // natural widths, capped so one long column does not starve the others
        let mut natural: Vec<f32> = headers
            .iter()
            .map(|h| text_width(h, Font::Bold, size).min(total * 0.5))
            .collect();
        for row in rows {
            for (i, c) in row.iter().enumerate().take(cols) {
                let w = text_width(c.as_ref(), Font::Regular, size).min(total * 0.6);
                if w > natural[i] {
                    natural[i] = w;
                }
            }
        }
        let min = 40.0_f32.min(total / cols as f32);
        let natural: Vec<f32> = natural.iter().map(|w| (w + 2.0 * pad).max(min)).collect();
        let sum: f32 = natural.iter().sum();
        let widths: Vec<f32> = natural.iter().map(|w| w / sum * total).collect();
        let header_cells: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        self.table_row(&header_cells, &widths, size, true);
        for row in rows {
            let cells: Vec<String> = (0..cols)
                .map(|i| {
                    row.get(i)
                        .map(|c| c.as_ref().to_string())
                        .unwrap_or_default()
                })
                .collect();
            let height = row_height(&cells, &widths, size, pad);
            if self.y - height < MARGIN_BOTTOM {
                self.new_page();
                self.table_row(&header_cells, &widths, size, true);
            }
            self.table_row(&cells, &widths, size, false);
        }
        self.space(8.0)
    }

    fn table_row(&mut self, cells: &[String], widths: &[f32], size: f32, header: bool) {
        let pad = 4.0;
        let leading = size * 1.3;
        let font = if header { Font::Bold } else { Font::Regular };
        let height = row_height(cells, widths, size, pad);
        if self.y - height < MARGIN_BOTTOM {
            self.new_page();
        }
        let top = self.y;
        let bottom = top - height;
        let total: f32 = widths.iter().sum();
        if header {
            self.fill_rect(MARGIN_X, bottom, total, height, LIGHT_GREY);
        }
        let mut x = MARGIN_X;
        for (cell, w) in cells.iter().zip(widths) {
            let lines = wrap(cell, font, size, w - 2.0 * pad);
            for (i, line) in lines.iter().enumerate() {
                let y = top - pad - size - i as f32 * leading + 1.5;
                self.text_at(x + pad, y, font, size, TEXT_GREY, line);
            }
            x += w;
        }
        self.stroke_rect(MARGIN_X, bottom, total, height, BORDER_GREY, 0.6);
        let mut x = MARGIN_X;
        for w in &widths[..widths.len().saturating_sub(1)] {
            x += w;
            self.line(x, bottom, x, top, BORDER_GREY, 0.6);
        }
        self.y = bottom;
    }

    /// The DSFR-like "bloc Marque" at the top of the page: the flag bars, "MINISTÈRE DE LA JUSTICE", the motto
    /// "Liberté Égalité Fraternité", and the name of the issuing service on the right.
    pub fn marianne_block(&mut self, service_name: &str) -> &mut Self {
        self.ensure(110.0);
        let top = self.y;
        let x = MARGIN_X;
        // flag: blue / white (outlined) / red bars
        let bar_w = 12.0;
        let bar_h = 26.0;
        let fy = top - bar_h;
        self.fill_rect(x, fy, bar_w, bar_h, BLUE_FRANCE);
        self.stroke_rect(x + bar_w, fy, bar_w, bar_h, BORDER_GREY, 0.4);
        self.fill_rect(x + 2.0 * bar_w, fy, bar_w, bar_h, RED_MARIANNE);
        let mut ty = fy - 16.0;
        for l in ["MINISTÈRE", "DE LA JUSTICE"] {
            self.text_at(x, ty, Font::Bold, 12.0, TEXT_GREY, l);
            ty -= 14.0;
        }
        ty -= 2.0;
        self.text_at(x, ty, Font::Italic, 8.5, TEXT_GREY, "Liberté");
        ty -= 10.0;
        self.text_at(x, ty, Font::Italic, 8.5, TEXT_GREY, "Égalité");
        ty -= 10.0;
        self.text_at(x, ty, Font::Italic, 8.5, TEXT_GREY, "Fraternité");
        // service name, right-aligned column
        let col_x = PAGE_WIDTH / 2.0 + 20.0;
        let col_w = PAGE_WIDTH - MARGIN_X - col_x;
        let mut sy = fy - 16.0;
        for l in wrap(service_name, Font::Bold, 11.0, col_w) {
            let w = text_width(&l, Font::Bold, 11.0);
            self.text_at(
                PAGE_WIDTH - MARGIN_X - w,
                sy,
                Font::Bold,
                11.0,
                BLUE_FRANCE,
                &l,
            );
            sy -= 14.0;
        }
        self.y = ty.min(sy) - 14.0;
        let y = self.y;
        self.line(MARGIN_X, y, PAGE_WIDTH - MARGIN_X, y, BORDER_GREY, 0.7);
        self.space(10.0)
    }

    /// Serialises the document.
    pub fn finish(mut self) -> Vec<u8> {
        if !self.cur.is_empty() || self.pages.is_empty() {
            let content = std::mem::take(&mut self.cur);
            self.pages.push(content);
        }
        let count = self.pages.len();
        for (i, page) in self.pages.iter_mut().enumerate() {
            let label = format!("Page {} / {}", i + 1, count);
            let size = 8.0;
            let w = text_width(&label, Font::Regular, size);
            let _ = writeln!(
                page,
                "BT {} {} {} rg /F1 {} Tf {} {} Td ({}) Tj ET",
                n(MUTED_GREY.0),
                n(MUTED_GREY.1),
                n(MUTED_GREY.2),
                n(size),
                n(PAGE_WIDTH - MARGIN_X - w),
                n(MARGIN_BOTTOM - 30.0),
                escape(&label)
            );
            if let Some(f) = &self.footer {
                let max = PAGE_WIDTH - 2.0 * MARGIN_X - w - 20.0;
                let line = wrap(f, Font::Regular, size, max)
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                let _ = writeln!(
                    page,
                    "BT {} {} {} rg /F1 {} Tf {} {} Td ({}) Tj ET",
                    n(MUTED_GREY.0),
                    n(MUTED_GREY.1),
                    n(MUTED_GREY.2),
                    n(size),
                    n(MARGIN_X),
                    n(MARGIN_BOTTOM - 30.0),
                    escape(&line)
                );
            }
        }

        // objects: 1 catalog, 2 pages, 3-5 fonts, 6 info, then (page, content) pairs
        let mut out: Vec<u8> = Vec::new();
        let mut offsets: Vec<usize> = Vec::new();
        out.extend_from_slice(b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n");
        let page_ids: Vec<usize> = (0..count).map(|i| 7 + 2 * i).collect();
        let mut obj = |out: &mut Vec<u8>, body: &[u8]| {
            offsets.push(out.len());
            let id = offsets.len();
            out.extend_from_slice(format!("{id} 0 obj\n").as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        };
        obj(&mut out, b"<< /Type /Catalog /Pages 2 0 R >>");
        let kids: Vec<String> = page_ids.iter().map(|i| format!("{i} 0 R")).collect();
        obj(
            &mut out,
            format!(
                "<< /Type /Pages /Kids [{}] /Count {} >>",
                kids.join(" "),
                count
            )
            .as_bytes(),
        );
        for base in ["Helvetica", "Helvetica-Bold", "Helvetica-Oblique"] {
            obj(
                &mut out,
                format!(
                    "<< /Type /Font /Subtype /Type1 /BaseFont /{base} /Encoding /WinAnsiEncoding >>"
                )
                .as_bytes(),
            );
        }
        obj(
            &mut out,
            format!(
                "<< /Title {} /Producer (Passerelle) /Creator (Passerelle) >>",
                utf16_string(&self.title)
            )
            .as_bytes(),
        );
        for (i, content) in self.pages.iter().enumerate() {
            let content_id = page_ids[i] + 1;
            obj(
                &mut out,
                format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] /Resources << /Font << /F1 3 0 R /F2 4 0 R /F3 5 0 R >> >> /Contents {} 0 R >>",
                    n(PAGE_WIDTH),
                    n(PAGE_HEIGHT),
                    content_id
                )
                .as_bytes(),
            );
            let mut body = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
            body.extend_from_slice(content.as_bytes());
            body.extend_from_slice(b"\nendstream");
            obj(&mut out, &body);
        }
        let xref = out.len();
        let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1);
        for o in &offsets {
            let _ = writeln!(tail, "{o:010} 00000 n ");
        }
        let _ = write!(
            tail,
            "trailer\n<< /Size {} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{}\n%%EOF\n",
            offsets.len() + 1,
            xref
        );
        out.extend_from_slice(tail.as_bytes());
        out
    }
}

fn row_height(cells: &[String], widths: &[f32], size: f32, pad: f32) -> f32 {
    let leading = size * 1.3;
    let lines = cells
        .iter()
        .zip(widths)
        .map(|(c, w)| wrap(c, Font::Regular, size, w - 2.0 * pad).len().max(1))
        .max()
        .unwrap_or(1);
    lines as f32 * leading + 2.0 * pad - (leading - size)
}

/// Formats a number for a content stream (two decimals, trailing zeros trimmed).
fn n(v: f32) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// Maps a character to its WinAnsiEncoding (Windows-1252) byte; `None` when it has no equivalent.
pub fn winansi(c: char) -> Option<u8> {
    let cp = c as u32;
    match cp {
        0x20..=0x7E => Some(cp as u8),
        0xA0 | 0x202F | 0x2007 | 0x2009 => Some(b' '),
        0xA1..=0xFF => Some(cp as u8),
        _ => Some(match c {
            '€' => 0x80,
            '‚' => 0x82,
            'ƒ' => 0x83,
            '„' => 0x84,
            '…' => 0x85,
            '†' => 0x86,
            '‡' => 0x87,
            'ˆ' => 0x88,
            '‰' => 0x89,
            'Š' => 0x8A,
            '‹' => 0x8B,
            'Œ' => 0x8C,
            'Ž' => 0x8E,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' | '‑' | '‐' => 0x96,
            '—' => 0x97,
            '˜' => 0x98,
            '™' => 0x99,
            'š' => 0x9A,
            '›' => 0x9B,
            'œ' => 0x9C,
            'ž' => 0x9E,
            'Ÿ' => 0x9F,
            '\t' => b' ',
            _ => return None,
        }),
    }
}

/// Escapes text for a PDF literal string in WinAnsiEncoding (non-ASCII bytes as octal escapes).
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\n' || c == '\r' {
            continue;
        }
        let b = winansi(c).unwrap_or(b'?');
        match b {
            b'(' => s.push_str("\\("),
            b')' => s.push_str("\\)"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7E => s.push(b as char),
            _ => {
                let _ = write!(s, "\\{b:03o}");
            }
        }
    }
    s
}

/// A PDF text string in UTF-16BE with BOM (hex), for metadata such as the title.
fn utf16_string(text: &str) -> String {
    let mut s = String::from("<FEFF");
    for u in text.encode_utf16() {
        let _ = write!(s, "{u:04X}");
    }
    s.push('>');
    s
}

/// Helvetica (regular) and Helvetica-Bold advance widths for ASCII 32..=126, in 1/1000 em (Adobe AFM).
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278,
    278, // space../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0..?
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @..O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P.._
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // `..o
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // p..~
];
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278,
    278, // space../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, // 0..?
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, // @..O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, // P.._
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, // `..o
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, // p..~
];

/// The unaccented letter an accented Latin letter has the width of.
fn base_letter(c: char) -> Option<char> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'A',
        'ç' => 'c',
        'Ç' => 'C',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'È' | 'É' | 'Ê' | 'Ë' => 'E',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
        'ñ' => 'n',
        'Ñ' => 'N',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'O',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
        'ý' | 'ÿ' => 'y',
        'Ý' | 'Ÿ' => 'Y',
        'š' => 's',
        'Š' => 'S',
        'ž' => 'z',
        'Ž' => 'Z',
        '\u{a0}' | '\u{202f}' | '\u{2007}' | '\u{2009}' | '\t' => ' ',
        '‑' | '‐' => '-',
        _ => return None,
    })
}

/// Advance width of one character in 1/1000 em.
fn char_width(c: char, font: Font) -> u16 {
    let bold = font == Font::Bold;
    let table = if bold { &HELVETICA_BOLD } else { &HELVETICA };
    let c = base_letter(c).unwrap_or(c);
    let cp = c as u32;
    if (0x20..=0x7E).contains(&cp) {
        return table[(cp - 0x20) as usize];
    }
    match c {
        'œ' | 'æ' => {
            if c == 'œ' {
                944
            } else {
                889
            }
        }
        'Œ' | 'Æ' => 1000,
        '«' | '»' | '€' | '–' => 556,
        '‹' | '›' => 333,
        '—' | '…' | '‰' => 1000,
        '’' | '‘' | '‚' => {
            if bold {
                278
            } else {
                222
            }
        }
        '“' | '”' | '„' => {
            if bold {
                500
            } else {
                333
            }
        }
        '•' => 350,
        '°' => 400,
        'ß' => 611,
        '§' => 556,
        '©' | '®' => 737,
        '²' | '³' | '¹' => 333,
        _ => 556,
    }
}

/// Width of a string in points.
pub fn text_width(text: &str, font: Font, size: f32) -> f32 {
    text.chars()
        .map(|c| char_width(c, font) as f32)
        .sum::<f32>()
        * size
        / 1000.0
}

/// Splits text into lines no wider than `width` points, breaking at spaces (non-breaking spaces are kept);
/// words longer than a line are cut.
pub fn wrap(text: &str, font: Font, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let space = text_width(" ", font, size);
    let mut line_w = 0.0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word = word.to_string();
        let mut ww = text_width(&word, font, size);
        // cut words that cannot fit on any line
        while ww > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                line_w = 0.0;
            }
            let mut cut = String::new();
            let mut cw = 0.0;
            let mut rest = String::new();
            for (i, c) in word.chars().enumerate() {
                let w = char_width(c, font) as f32 * size / 1000.0;
                if cw + w > width && i > 0 {
                    rest = word.chars().skip(i).collect();
                    break;
                }
                cut.push(c);
                cw += w;
            }
            lines.push(cut);
            word = rest;
            ww = text_width(&word, font, size);
        }
        if word.is_empty() {
            continue;
        }
        if line.is_empty() {
            line = word;
            line_w = ww;
        } else if line_w + space + ww <= width {
            line.push(' ');
            line.push_str(&word);
            line_w += space + ww;
        } else {
            lines.push(std::mem::replace(&mut line, word));
            line_w = ww;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// Extracts the text of a PDF with `pdftotext` (poppler-utils). `None` when the tool is missing.
/// Used by tests of every area that produces PDFs.
pub fn extract_text(pdf: &[u8]) -> Option<String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("pdftotext")
        .args(["-enc", "UTF-8", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let data = pdf.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().ok()?;
    let _ = writer.join();
    if !out.status.success() {
        panic!("pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Text of a PDF for tests: panics when `pdftotext` is missing (a skipped check is a failure), unless the run
/// explicitly allows skips with `PASSERELLE_TEST_ALLOW_SKIP=1` (then `None`, with a message).
pub fn extract_text_for_test(pdf: &[u8]) -> Option<String> {
    match extract_text(pdf) {
        Some(t) => Some(t),
        None if std::env::var("PASSERELLE_TEST_ALLOW_SKIP").as_deref() != Ok("1") => {
            panic!("pdftotext (poppler-utils) is required (PASSERELLE_TEST_ALLOW_SKIP=1 skips instead)")
        }
        None => {
            eprintln!("SKIPPED: pdftotext (poppler-utils) is not installed");
            None
        }
    }
}

/// Collapses whitespace (line breaks from wrapping included) so phrases can be searched in extracted text.
pub fn normalize_ws(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winansi_mapping_and_escaping() {
        assert_eq!(winansi('é'), Some(0xE9));
        assert_eq!(winansi('€'), Some(0x80));
        assert_eq!(winansi('œ'), Some(0x9C));
        assert_eq!(winansi('’'), Some(0x92));
        assert_eq!(winansi('日'), None);
        assert_eq!(escape("a(b)c\\"), "a\\(b\\)c\\\\");
        assert_eq!(escape("é"), "\\351");
        assert_eq!(escape("日"), "?");
    }

    #[test]
    fn widths_and_wrapping() {
        // "Hello" in Helvetica: 722+556+222+222+556 = 2278
        assert!((text_width("Hello", Font::Regular, 10.0) - 22.78).abs() < 0.01);
        assert_eq!(
            text_width("é", Font::Bold, 10.0),
            text_width("e", Font::Bold, 10.0)
        );
        let lines = wrap(
            "Le conseiller pénitentiaire d’insertion et de probation vous reçoit",
            Font::Regular,
            10.0,
            120.0,
        );
        assert!(lines.len() > 2);
        for l in &lines {
            assert!(text_width(l, Font::Regular, 10.0) <= 120.0, "{l}");
        }
        assert_eq!(
            lines.join(" "),
            "Le conseiller pénitentiaire d’insertion et de probation vous reçoit"
        );
        let long = wrap(&"x".repeat(100), Font::Regular, 10.0, 50.0);
        assert!(long.len() > 1);
        assert_eq!(long.concat(), "x".repeat(100));
    }

    #[test]
    fn pdf_structure_is_valid() {
        let mut d = Document::new("Essai");
        d.paragraph("Bonjour");
        let bytes = d.finish();
        assert!(bytes.starts_with(b"%PDF-1.4"));
        let s = String::from_utf8_lossy(&bytes);
        assert!(s.trim_end().ends_with("%%EOF"));
        // xref offsets point at the objects
        let start: usize = s
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(bytes[start..].starts_with(b"xref"));
        let xref = String::from_utf8_lossy(&bytes[start..]).into_owned();
        let first_offset: usize = xref.lines().nth(3).unwrap()[..10].parse().unwrap();
        assert!(bytes[first_offset..].starts_with(b"1 0 obj"));
    }

    #[test]
    fn french_text_round_trips_through_pdftotext() {
        let mut d = Document::new("Convocation — essai");
        d.footer("SPIP des Hauts-de-Seine — document généré par Passerelle");
        d.marianne_block("Service pénitentiaire d’insertion et de probation des Hauts-de-Seine");
        d.title("Convocation à un rendez-vous");
        d.heading("Où et quand ?");
        d.paragraph("Vous êtes convoqué(e) le lundi 3 mai 2027 à 14h30 au « SPIP 92 » : élève, garçon, côté, cœur, 12 € (tarif), chemin C:\\dossier.");
        d.key_values(&[
            ("Adresse", "12 rue de l’Église\n92000 Nanterre"),
            ("Téléphone", "01 23 45 67 89"),
        ]);
        d.bullets(&["Pièce d’identité", "Justificatif de domicile"]);
        let rows: Vec<Vec<String>> = (0..120)
            .map(|i| {
                vec![
                    format!("{:02}h{:02}", 8 + i / 12, (i % 12) * 5),
                    format!("Personne numéro {i} — Hélène Çağlar"),
                    "Convocation de suivi SPIP".to_string(),
                ]
            })
            .collect();
        d.table(&["Heure", "Personne", "Type de rendez-vous"], &rows);
        d.paragraph("Fin du document.");
        let bytes = d.finish();
        if let Some(path) = std::env::var_os("PDF_SAMPLE_OUT") {
            std::fs::write(path, &bytes).unwrap();
        }
        let Some(text) = extract_text_for_test(&bytes) else {
            return;
        };
        let flat = normalize_ws(&text);
        for needle in [
            "MINISTÈRE",
            "DE LA JUSTICE",
            "Liberté",
            "Égalité",
            "Fraternité",
            "Convocation à un rendez-vous",
            "Vous êtes convoqué(e) le lundi 3 mai 2027 à 14h30",
            "« SPIP 92 »",
            "élève, garçon, côté, cœur, 12 €",
            "C:\\dossier.",
            "12 rue de l’Église",
            "Pièce d’identité",
            "Personne numéro 119",
            "Fin du document.",
            "Page 1 / ",
        ] {
            assert!(flat.contains(needle), "missing {needle:?} in {flat}");
        }
        // the 120 rows need several pages; each page repeats the header
        assert!(text.matches('\u{c}').count() >= 3, "expected page breaks");
        assert!(flat.matches("Type de rendez-vous").count() >= 3);
        // characters outside WinAnsi become '?'
        assert!(flat.contains("Ça?lar"));
    }
}
