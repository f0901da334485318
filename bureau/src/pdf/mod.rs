//! A small flowing-document writer for the bureau's printable records: titles,
//! headings, paragraphs, label–value rows and figures (an image with rows
//! beside it), on A4 pages numbered at the foot.
//!
//! Built on `pdf-writer` (the PDF objects) and `subsetter` (the embedded font
//! subset), the building blocks of the typst project. The layout kept here is
//! line breaking and page breaking only: Chinese breaks between any two
//! characters, so no shaping engine is needed, and the higher-level PDF crates
//! bring a text-shaping and rendering stack this does not use.

mod font;
mod image;

pub use font::Font;
pub use image::Image;

use crate::error::Result;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use std::io::Write;

const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;
const MARGIN: f32 = 56.0;
const FOOTER_SIZE: f32 = 8.0;
const TITLE_SIZE: f32 = 16.0;
const HEADING_SIZE: f32 = 12.0;
const BODY_SIZE: f32 = 9.5;
const LEADING: f32 = 1.5;
const LABEL_WIDTH: f32 = 96.0;
/// A figure's image fits in this square, at the left of its rows.
pub const FIGURE_BOX: f32 = 132.0;
const GAP: f32 = 10.0;
const FONT: Name<'static> = Name(b"F0");

pub struct Document<'f> {
    font: Font<'f>,
    title: String,
    footer: String,
    pages: Vec<Page>,
    images: Vec<Image>,
    /// The baseline the next line sits on, from the page's bottom.
    y: f32,
}

struct Page {
    content: Content,
    /// Indices in `images` of those drawn on this page.
    images: Vec<usize>,
}

impl<'f> Document<'f> {
    /// A document titled `title` (its metadata), each page's foot reading
    /// `footer` and the page number.
    pub fn new(font: Font<'f>, title: &str, footer: &str) -> Self {
        let mut doc = Self {
            font,
            title: title.to_owned(),
            footer: footer.to_owned(),
            pages: Vec::new(),
            images: Vec::new(),
            y: 0.0,
        };
        doc.new_page();
        doc
    }

    fn new_page(&mut self) {
        self.pages.push(Page {
            content: Content::new(),
            images: Vec::new(),
        });
        self.y = PAGE_HEIGHT - MARGIN;
    }

    /// Starts a new page unless `height` more points fit on this one.
    pub fn keep(&mut self, height: f32) {
        if self.y - height < MARGIN + FOOTER_SIZE * 2.0 {
            self.new_page();
        }
    }

    fn text_at(&mut self, x: f32, y: f32, size: f32, text: &str) {
        let glyphs = self.font.encode(text);
        let page = self.pages.last_mut().expect("a document has a page");
        page.content
            .begin_text()
            .set_font(FONT, size)
            .next_line(x, y)
            .show(Str(&glyphs))
            .end_text();
    }

    fn rule(&mut self, y: f32) {
        let page = self.pages.last_mut().expect("a document has a page");
        page.content
            .set_line_width(0.6)
            .move_to(MARGIN, y)
            .line_to(PAGE_WIDTH - MARGIN, y)
            .stroke();
    }

    pub fn title(&mut self, text: &str) {
        self.keep(TITLE_SIZE * 2.5);
        self.y -= TITLE_SIZE;
        let x = (PAGE_WIDTH - self.font.width(text, TITLE_SIZE)) / 2.0;
        self.text_at(x.max(MARGIN), self.y, TITLE_SIZE, text);
        self.y -= TITLE_SIZE * 1.2;
    }

    /// A section heading, never left alone at a page's foot.
    pub fn heading(&mut self, text: &str) {
        self.keep(HEADING_SIZE * 2.2 + BODY_SIZE * LEADING * 3.0);
        self.y -= HEADING_SIZE * 1.6;
        self.text_at(MARGIN, self.y, HEADING_SIZE, text);
        self.y -= HEADING_SIZE * 0.45;
        self.rule(self.y);
        self.y -= HEADING_SIZE * 0.4;
    }

    pub fn paragraph(&mut self, text: &str) {
        for line in self.wrap(text, BODY_SIZE, PAGE_WIDTH - 2.0 * MARGIN) {
            self.keep(BODY_SIZE * LEADING);
            self.y -= BODY_SIZE * LEADING;
            self.text_at(MARGIN, self.y, BODY_SIZE, &line);
        }
        self.y -= BODY_SIZE * 0.4;
    }

    /// Label–value rows across the text width.
    pub fn rows(&mut self, rows: &[(&str, String)]) {
        for (label, value) in rows {
            let lines = self.wrap(value, BODY_SIZE, PAGE_WIDTH - 2.0 * MARGIN - LABEL_WIDTH);
            self.keep(BODY_SIZE * LEADING * lines.len().min(3) as f32);
            self.row_lines(MARGIN, label, &lines);
        }
    }

    /// One row: the label wrapped in its column, the value's `lines` beside it.
    fn row_lines(&mut self, x: f32, label: &str, lines: &[String]) {
        let labels = self.wrap(label, BODY_SIZE, LABEL_WIDTH - BODY_SIZE);
        for i in 0..labels.len().max(lines.len()) {
            self.keep(BODY_SIZE * LEADING);
            self.y -= BODY_SIZE * LEADING;
            if let Some(label) = labels.get(i) {
                self.text_at(x, self.y, BODY_SIZE, label);
            }
            if let Some(line) = lines.get(i) {
                self.text_at(x + LABEL_WIDTH, self.y, BODY_SIZE, line);
            }
        }
    }

    /// An image (or, when there is none, a short text in its place) with
    /// label–value rows to its right, kept together on one page.
    pub fn figure(&mut self, image: std::result::Result<Image, String>, rows: &[(&str, String)]) {
        let x = MARGIN + FIGURE_BOX + GAP;
        let width = PAGE_WIDTH - MARGIN - x - LABEL_WIDTH;
        let wrapped: Vec<Vec<String>> = rows
            .iter()
            .map(|(_, value)| self.wrap(value, BODY_SIZE, width))
            .collect();
        let text_height = wrapped.iter().map(Vec::len).sum::<usize>() as f32 * BODY_SIZE * LEADING;
        let height = text_height.max(FIGURE_BOX) + GAP;
        self.keep(height);
        let top = self.y - GAP / 2.0;
        match image {
            Ok(image) => {
                let scale = FIGURE_BOX / image.width.max(image.height) as f32;
                let (w, h) = (image.width as f32 * scale, image.height as f32 * scale);
                let name = format!("Im{}", self.images.len());
                let page = self.pages.last_mut().expect("a document has a page");
                page.images.push(self.images.len());
                page.content
                    .save_state()
                    .transform([w, 0.0, 0.0, h, MARGIN, top - h])
                    .x_object(Name(name.as_bytes()))
                    .restore_state();
                page.content
                    .set_line_width(0.3)
                    .rect(MARGIN, top - h, w, h)
                    .stroke();
                self.images.push(image);
            }
            Err(why) => {
                for (i, line) in self.wrap(&why, BODY_SIZE, FIGURE_BOX).iter().enumerate() {
                    let y = top - BODY_SIZE * LEADING * (i + 1) as f32;
                    self.text_at(MARGIN, y, BODY_SIZE, line);
                }
            }
        }
        self.y = top;
        for ((label, _), lines) in rows.iter().zip(&wrapped) {
            self.row_lines(x, label, lines);
        }
        self.y = self.y.min(top - FIGURE_BOX) - GAP;
    }

    /// Breaks `text` into lines no wider than `width`: at any character, but
    /// a run of letters and digits moves whole to the next line when it can.
    fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            let mut line_width = 0.0;
            for c in paragraph.chars() {
                let w = self.font.advance(c) * size;
                if line_width + w > width && !line.is_empty() {
                    let carried = carry_word(&mut line, c);
                    lines.push(std::mem::take(&mut line));
                    line = carried;
                    line_width = self.font.width(&line, size);
                }
                line.push(c);
                line_width += w;
            }
            lines.push(line);
        }
        lines
    }

    /// The whole PDF.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        let total = self.pages.len();
        let mut pdf = Pdf::new();
        let mut next_id = 1;
        let mut next = || {
            next_id += 1;
            Ref::new(next_id - 1)
        };
        let (catalog, tree, font, info) = (next(), next(), next(), next());
        let pages = std::mem::take(&mut self.pages);
        let mut page_ids = Vec::new();
        for (n, mut page) in pages.into_iter().enumerate() {
            let foot = format!("{}    第 {} 页 共 {} 页", self.footer, n + 1, total);
            let glyphs = self.font.encode(&foot);
            page.content
                .begin_text()
                .set_font(FONT, FOOTER_SIZE)
                .next_line(MARGIN, MARGIN - FOOTER_SIZE)
                .show(Str(&glyphs))
                .end_text();
            let (id, content_id) = (next(), next());
            let content = compressed(page.content.finish().as_slice());
            pdf.stream(content_id, &content)
                .filter(pdf_writer::Filter::FlateDecode);
            let image_ids: Vec<(usize, Ref)> = page.images.iter().map(|&i| (i, next())).collect();
            let mut p = pdf.page(id);
            p.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
                .parent(tree)
                .contents(content_id);
            let mut resources = p.resources();
            resources.fonts().pair(FONT, font);
            let mut objects = resources.x_objects();
            for (i, image_id) in &image_ids {
                objects.pair(Name(format!("Im{i}").as_bytes()), *image_id);
            }
            objects.finish();
            resources.finish();
            p.finish();
            for (i, image_id) in image_ids {
                self.images[i].embed(&mut pdf, image_id);
            }
            page_ids.push(id);
        }
        pdf.pages(tree)
            .kids(page_ids.iter().copied())
            .count(total as i32);
        pdf.catalog(catalog).pages(tree);
        pdf.document_info(info)
            .title(TextStr(&self.title))
            .producer(TextStr("Fieldproof"));
        self.font.embed(&mut pdf, font, &mut next)?;
        Ok(pdf.finish())
    }
}

/// When `line` ends inside a run of letters or digits that `next` continues,
/// takes that run off `line` (if something else stays) to start the next one.
fn carry_word(line: &mut String, next: char) -> String {
    if !next.is_ascii_alphanumeric() {
        return String::new();
    }
    let start = line
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric())
        .last()
        .map(|(i, _)| i);
    match start {
        // A hash longer than the line breaks where it must.
        Some(i) if i > 0 && line.len() - i < 24 => line.split_off(i),
        _ => String::new(),
    }
}

fn compressed(data: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_moves_whole_to_the_next_line_and_a_hash_breaks_where_it_must() {
        let mut line = "设备 abc".to_owned();
        assert_eq!(carry_word(&mut line, 'd'), "abc");
        assert_eq!(line, "设备 ");
        // Chinese breaks anywhere: nothing is carried.
        let mut line = "设备 abc".to_owned();
        assert_eq!(carry_word(&mut line, '检'), "");
        // A run as long as a hash stays and is cut at the line's end.
        let mut line = format!("SHA-256 {}", "a".repeat(40));
        assert_eq!(carry_word(&mut line, 'b'), "");
        // A line that is one word has nothing before it to keep.
        let mut line = "abcdef".to_owned();
        assert_eq!(carry_word(&mut line, 'g'), "");
    }

    #[test]
    fn bytes_that_are_not_a_font_are_refused_by_code() {
        let refused = Font::parse(b"not a font").err().unwrap();
        assert_eq!(refused.code(), "report_font_unusable");
    }
}
