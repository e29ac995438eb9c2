//! Draws the benchmark chart: for every metric of `bench/results/all.json` that has
//! `in_chart: true`, one group of bars, one bar per other engine, each bar the ratio
//! other engine median / berth median on a log scale (> 1: berth is faster or smaller).
//!
//! Usage: berth-bench-chart ALL_JSON OUT_PNG [FONT_TTF]
//! The font defaults to DejaVu Sans from Debian's fonts-dejavu-core.

use std::error::Error;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use serde_json::Value;

const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const W: u32 = 2000;
const H: u32 = 1000;

/// The engines compared with berth, in bar order, with their colours.
const ENGINES: [(&str, &str, RGBColor); 4] = [
    (
        "docker",
        "Docker (dockerd 20.10)",
        RGBColor(0x1d, 0x63, 0xed),
    ),
    ("podman", "Podman 4.3", RGBColor(0x89, 0x2c, 0xa0)),
    ("runc", "runc", RGBColor(0xe0, 0x7a, 0x10)),
    ("crun", "crun", RGBColor(0x2e, 0x9e, 0x44)),
];

struct Group {
    label: Vec<String>,
    bars: Vec<(usize, f64)>, // (engine index, ratio)
    missing: Vec<usize>,     // engines the metric has but could not measure
}

fn groups(all: &Value) -> Vec<Group> {
    let mut out = Vec::new();
    for m in all["metrics"].as_array().into_iter().flatten() {
        if !m["in_chart"].as_bool().unwrap_or(false) {
            continue;
        }
        let vals = &m["values"];
        let mut bars = Vec::new();
        let mut missing = Vec::new();
        for (i, (key, _, _)) in ENGINES.iter().enumerate() {
            let v = &vals[*key];
            if v.is_null() {
                continue;
            }
            match v["ratio_to_berth"].as_f64() {
                Some(r) if r > 0.0 => bars.push((i, r)),
                _ => missing.push(i),
            }
        }
        if bars.is_empty() {
            continue;
        }
        let short = m["short"].as_str().or(m["title"].as_str()).unwrap_or("?");
        let unit = m["unit"].as_str().unwrap_or("");
        let berth = vals["berth"]["median"].as_f64();
        let mut label: Vec<String> = short.split('\n').map(str::to_string).collect();
        if let Some(b) = berth {
            label.push(format!("berth {} {unit}", num(b)));
        }
        out.push(Group {
            label,
            bars,
            missing,
        });
    }
    out
}

fn num(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn ratio_text(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}x")
    } else if r >= 1.95 {
        format!("{r:.1}x")
    } else {
        format!("{r:.2}x")
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: {} ALL_JSON OUT_PNG [FONT_TTF]", args[0]);
        std::process::exit(2);
    }
    let font_path = args.get(3).map(String::as_str).unwrap_or(DEFAULT_FONT);
    let font: &'static [u8] = Box::leak(
        std::fs::read(font_path)
            .map_err(|e| format!("{font_path}: {e} (install fonts-dejavu-core)"))?
            .into_boxed_slice(),
    );
    register_font("sans-serif", FontStyle::Normal, font)
        .map_err(|_| format!("{font_path}: not a usable font"))?;
    let all: Value = serde_json::from_slice(&std::fs::read(&args[1])?)?;
    let gs = groups(&all);
    if gs.is_empty() {
        return Err("no metric with a ratio in all.json".into());
    }

    let (mut lo, mut hi) = (1.0f64, 1.0f64);
    for g in &gs {
        for &(_, r) in &g.bars {
            lo = lo.min(r);
            hi = hi.max(r);
        }
    }
    let lo = (lo / 1.6).min(0.5);
    let hi = hi * 2.2;

    let root = BitMapBackend::new(&args[2], (W, H)).into_drawing_area();
    root.fill(&WHITE)?;
    let mode = all["mode"].as_str().unwrap_or("?");
    let date = all["date"]
        .as_str()
        .unwrap_or("?")
        .replace('T', " ")
        .replace('Z', " UTC");
    let title = "How many times slower or bigger the other engine is than berth (other median / berth median, log scale)";
    let sub = format!(
        "bench/all{} on {date}; {} CPUs, kernel {}. Above the line: berth is faster or smaller; below: the other engine is. n/a = not measured here.",
        if mode == "quick" { " --quick (indicative)" } else { "" },
        all["machine"]["cpus"],
        all["machine"]["kernel"].as_str().unwrap_or("?"),
    );
    root.draw_text(
        title,
        &("sans-serif", 30).into_font().color(&BLACK),
        (40, 18),
    )?;
    root.draw_text(
        &sub,
        &("sans-serif", 20).into_font().color(&RGBColor(80, 80, 80)),
        (40, 58),
    )?;

    let n = gs.len() as f64;
    let area = root.margin(95, 150, 20, 30);
    let mut chart = ChartBuilder::on(&area)
        .x_label_area_size(0)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5f64..(n - 0.5), (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_x_axis()
        .y_desc("other / berth (log)")
        .y_label_formatter(&|v| ratio_text(*v))
        .y_labels(12)
        .label_style(("sans-serif", 20))
        .axis_desc_style(("sans-serif", 22))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()?;
    // parity line
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(-0.5, 1.0), (n - 0.5, 1.0)],
        ShapeStyle::from(&BLACK).stroke_width(2),
    )))?;

    let bar_w = 0.8;
    for (gi, g) in gs.iter().enumerate() {
        let slots = g.bars.len() + g.missing.len();
        let w = bar_w / slots as f64;
        let x0 = gi as f64 - bar_w / 2.0;
        let mut slot = 0;
        for &(ei, r) in &g.bars {
            let (a, b) = (
                x0 + w * slot as f64 + w * 0.08,
                x0 + w * (slot + 1) as f64 - w * 0.08,
            );
            let color = ENGINES[ei].2;
            // bars grow from the parity line: up when berth is better, down when not
            chart.draw_series(std::iter::once(Rectangle::new(
                [(a, 1.0), (b, r)],
                color.filled(),
            )))?;
            let (px, py) = chart.backend_coord(&((a + b) / 2.0, r));
            let txt = ratio_text(r);
            let style = ("sans-serif", 18).into_font().color(&BLACK);
            let (tw, _) = root.estimate_text_size(&txt, &style)?;
            let ty = if r >= 1.0 { py - 22 } else { py + 4 };
            root.draw_text(&txt, &style, (px - tw as i32 / 2, ty))?;
            slot += 1;
        }
        for &ei in &g.missing {
            let (a, b) = (
                x0 + w * slot as f64 + w * 0.08,
                x0 + w * (slot + 1) as f64 - w * 0.08,
            );
            let (px, py) = chart.backend_coord(&((a + b) / 2.0, 1.0));
            let style = ("sans-serif", 15).into_font().color(&ENGINES[ei].2);
            let txt = "n/a";
            let (tw, _) = root.estimate_text_size(txt, &style)?;
            root.draw_text(txt, &style, (px - tw as i32 / 2, py - 20))?;
            slot += 1;
        }
        // the metric's label under the plot, one line per entry
        let (px, py) = chart.backend_coord(&(gi as f64, lo));
        for (li, line) in g.label.iter().enumerate() {
            let style = if li + 1 == g.label.len() {
                ("sans-serif", 15).into_font().color(&RGBColor(90, 90, 90))
            } else {
                ("sans-serif", 17).into_font().color(&BLACK)
            };
            let (tw, _) = root.estimate_text_size(line, &style)?;
            root.draw_text(line, &style, (px - tw as i32 / 2, py + 12 + li as i32 * 22))?;
        }
    }

    // legend (only engines that appear)
    let mut lx = 120;
    let ly = H as i32 - 32;
    for (i, (_, name, color)) in ENGINES.iter().enumerate() {
        if !gs
            .iter()
            .any(|g| g.bars.iter().any(|&(e, _)| e == i) || g.missing.contains(&i))
        {
            continue;
        }
        root.draw(&Rectangle::new(
            [(lx, ly), (lx + 26, ly + 20)],
            color.filled(),
        ))?;
        let style = ("sans-serif", 20).into_font().color(&BLACK);
        root.draw_text(name, &style, (lx + 34, ly))?;
        let (tw, _) = root.estimate_text_size(name, &style)?;
        lx += 34 + tw as i32 + 40;
    }
    root.draw_text(
        "berth = 1 (black line)",
        &("sans-serif", 20).into_font().color(&BLACK),
        (lx, ly),
    )?;
    root.present()?;
    Ok(())
}
