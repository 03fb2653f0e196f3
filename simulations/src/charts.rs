//! SVG charts of a run's timeline: propagation percentiles over time,
//! throughput, and memory.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::timeline::Point;

type Series<'a> = (&'a str, RGBColor, Box<dyn Fn(&Point) -> f64 + 'a>);

fn chart(
    path: &Path,
    title: &str,
    y_label: &str,
    points: &[Point],
    series: Vec<Series<'_>>,
) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (900, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let t_max = points.last().map_or(1.0, |p| p.t).max(1.0);
    let y_max = series
        .iter()
        .flat_map(|(_, _, f)| points.iter().map(f))
        .fold(0.0f64, f64::max)
        .max(1e-3)
        * 1.1;
    let mut c = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..t_max, 0.0..y_max)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    c.configure_mesh()
        .x_desc("seconds")
        .y_desc(y_label)
        .draw()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for (name, color, f) in &series {
        c.draw_series(LineSeries::new(points.iter().map(|p| (p.t, f(p))), color))
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// Write `<prefix>-latency.svg`, `-throughput.svg`, `-memory.svg`; returns the paths.
pub fn write(prefix: &Path, points: &[Point]) -> anyhow::Result<Vec<PathBuf>> {
    let p = |s: &str| PathBuf::from(format!("{}-{s}.svg", prefix.display()));
    let files = vec![p("latency"), p("throughput"), p("memory")];
    chart(
        &files[0],
        "propagation latency per second (ms)",
        "ms",
        points,
        vec![
            (
                "p50",
                BLUE,
                Box::new(|x: &Point| x.prop_p50_us as f64 / 1000.0),
            ),
            (
                "p99",
                RED,
                Box::new(|x: &Point| x.prop_p99_us as f64 / 1000.0),
            ),
            (
                "p99.9",
                MAGENTA,
                Box::new(|x: &Point| x.prop_p999_us as f64 / 1000.0),
            ),
        ],
    )?;
    chart(
        &files[1],
        "throughput (per second)",
        "per second",
        points,
        vec![
            ("acks", BLUE, Box::new(|x: &Point| x.acks_per_s)),
            (
                "deltas received",
                GREEN,
                Box::new(|x: &Point| x.deltas_per_s),
            ),
        ],
    )?;
    chart(
        &files[2],
        "memory (MiB) and devices online (thousands)",
        "MiB / k devices",
        points,
        vec![
            (
                "server RSS",
                RED,
                Box::new(|x: &Point| x.server_rss_kib as f64 / 1024.0),
            ),
            (
                "harness RSS",
                BLUE,
                Box::new(|x: &Point| x.client_rss_kib as f64 / 1024.0),
            ),
            (
                "online (k)",
                GREEN,
                Box::new(|x: &Point| x.online as f64 / 1000.0),
            ),
        ],
    )?;
    Ok(files)
}
