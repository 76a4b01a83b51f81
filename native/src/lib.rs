//! aspects.transform._fast: a tracking-log line -> its xAPI statements as JSON bytes,
//! byte-identical to `orjson.dumps(s)` for each statement the Python transformer gives for
//! `Transformer.transform(parse_line(line))`, or "not handled" (None) for anything this code
//! does not cover or doubts: the caller then runs the Python path, which gives the exact output
//! or error. See native/README.md (the API for family code) and docs/transform.md.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use std::collections::HashSet;

pub mod builder;
pub mod chunk;
pub mod derive;
pub mod event;
pub mod families;
pub mod json;
pub mod line;
pub mod lowcard;
pub mod out;
pub mod prepare;
pub mod repair;
pub mod units;
pub mod vocab;
pub mod xapi;

/// "Not handled": the Python transformer decides (its output, or its error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fallback;

/// A result whose error is "not handled".
pub type Res<T> = Result<T, Fallback>;

use builder::{Builder, PyHooks, Stmt};

/// What became of one line.
pub enum Outcome {
    /// An accepted event: its statements (possibly none).
    Statements(Vec<Stmt>),
    /// The event's name is not transformed (skipped by name).
    Skipped(String),
    /// Use the Python path.
    NotHandled,
    /// The Python transformer rejects the event with this reason, for certain (chunk.rs reports
    /// it; the per-line entry points leave the line to the Python path, as before).
    Rejected(String),
}

/// The native transformer of one site (made by aspects.transform.fast.open_fast).
#[pyclass(unsendable, module = "aspects.transform._fast")]
pub struct FastTransformer {
    builder: Builder,
    enabled: HashSet<String>,
}

impl FastTransformer {
    /// One line -> its outcome (panics count as "not handled"); its statements' JSON is
    /// appended to the builder's sink (`Stmt::json`), which the caller clears or keeps.
    pub fn run(&mut self, line: &[u8]) -> Outcome {
        let builder = &mut self.builder;
        let enabled = &self.enabled;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_line(builder, enabled, line)
        }))
        .unwrap_or(Outcome::NotHandled)
    }
}

fn run_line(builder: &mut Builder, enabled: &HashSet<String>, line: &[u8]) -> Outcome {
    let Some((top, owned)) = line::read(line) else {
        return Outcome::NotHandled;
    };
    let Some(raw) = line::shape(top, owned.as_deref()) else {
        return Outcome::NotHandled;
    };
    let Some(name) = line::event_name(&raw) else {
        return Outcome::NotHandled;
    };
    if !enabled.contains(name) {
        return Outcome::Skipped(name.to_owned());
    }
    let Some(family) = families::lookup(name) else {
        return Outcome::NotHandled;
    };
    let event = event::Event::new(&raw, name);
    match family(builder, &event) {
        Ok(statements) if statements.iter().any(|s| s.no_id) => {
            Outcome::Rejected(builder::no_id_reason(name))
        }
        Ok(statements) => Outcome::Statements(statements),
        Err(Fallback) => Outcome::NotHandled,
    }
}

#[pymethods]
impl FastTransformer {
    /// root: the LMS root URL (no trailing slash); version: the transformer-version value;
    /// enabled: the names the Python transformer accepts; check: repair/check_object on (not
    /// erb_strict); actor: `Actors.actor`; course_names: the CourseNames source;
    /// normalise_timestamp, is_iri: the Python functions; dumps: `orjson.dumps`.
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        root: String,
        version: String,
        enabled: Vec<String>,
        check: bool,
        actor: PyObject,
        course_names: PyObject,
        normalise_timestamp: PyObject,
        is_iri: PyObject,
        dumps: PyObject,
    ) -> Self {
        let hooks = PyHooks {
            actor,
            course_names,
            normalise_timestamp,
            is_iri,
            dumps,
        };
        FastTransformer {
            builder: Builder::new(root, version, check, hooks),
            enabled: enabled.into_iter().collect(),
        }
    }

    /// Each statement as (UUID bytes, JSON bytes, actor name); a str = skipped by that name;
    /// None = not handled.
    fn rows(&mut self, py: Python<'_>, line: &[u8]) -> PyObject {
        self.builder.sink.clear();
        match self.run(line) {
            Outcome::Statements(statements) => {
                let sink = &self.builder.sink;
                let items = statements.iter().map(|s| {
                    PyTuple::new(
                        py,
                        &[
                            PyBytes::new(py, &s.id).to_object(py),
                            PyBytes::new(py, &sink[s.json.clone()]).to_object(py),
                            s.actor.py_name.clone_ref(py).into_py(py),
                        ],
                    )
                });
                PyList::new(py, items).to_object(py)
            }
            Outcome::Skipped(name) => name.to_object(py),
            Outcome::NotHandled | Outcome::Rejected(_) => py.None(),
        }
    }

    /// A chunk of a log (whole lines) -> (ids, texts, actors, events, skipped, unhandled,
    /// derived, rejected): the statements of every line handled here as the Native columns
    /// StatementPacker writes (ids: 16 bytes each; texts: LEB128 length + JSON; actors: each
    /// one's actor id), the non-blank lines, those skipped (by name or with no statement), the
    /// (start, end) of each line left to the Python path, and the raw table's derived columns of
    /// the statements (None when not sure of one), the (start, end, reason) of each line the
    /// Python transformer rejects for certain. Lines as `files.split_lines` makes them
    /// (native/src/chunk.rs). `derive=False`: no derived columns (None), ClickHouse computes them.
    #[args(derive = "true")]
    fn chunk(&mut self, py: Python<'_>, data: &[u8], derive: bool) -> PyObject {
        chunk::chunk(self, py, data, derive)
    }

    /// Benchmark hook: CPU seconds to run every line `repeat` times up to `stage` (0: parse,
    /// 1: parse and shape, 2: the whole transform).
    fn bench(&mut self, lines: Vec<&[u8]>, stage: u8, repeat: usize) -> f64 {
        let started = std::time::Instant::now();
        let mut count = 0usize;
        for _ in 0..repeat {
            for line in &lines {
                self.builder.sink.clear();
                match stage {
                    0 => count += line::read(line).map_or(0, |(top, _)| top.len()),
                    1 => {
                        if let Some((top, owned)) = line::read(line) {
                            if let Some(raw) = line::shape(top, owned.as_deref()) {
                                count += line::event_name(&raw).map_or(0, str::len);
                            }
                        }
                    }
                    _ => {
                        if let Outcome::Statements(s) = self.run(line) {
                            count += s.len();
                        }
                    }
                }
            }
        }
        std::hint::black_box(count);
        started.elapsed().as_secs_f64()
    }

    /// Each statement's JSON bytes; a str = skipped by that name; None = not handled.
    fn statements(&mut self, py: Python<'_>, line: &[u8]) -> PyObject {
        self.builder.sink.clear();
        match self.run(line) {
            Outcome::Statements(statements) => {
                let sink = &self.builder.sink;
                PyList::new(
                    py,
                    statements
                        .iter()
                        .map(|s| PyBytes::new(py, &sink[s.json.clone()])),
                )
                .to_object(py)
            }
            Outcome::Skipped(name) => name.to_object(py),
            Outcome::NotHandled | Outcome::Rejected(_) => py.None(),
        }
    }
}

/// Test hook: parse a JSON document as the transformer reads input and write it back as the
/// statement writer does (`prune`: statement.prune's rule); None when the parse fails.
#[pyfunction]
fn roundtrip(py: Python<'_>, text: &[u8], prune: bool) -> PyObject {
    match json::parse(text) {
        Some(value) => {
            let mut out = Vec::new();
            out::write_v(&mut out, &value, prune);
            PyBytes::new(py, &out).to_object(py)
        }
        None => py.None(),
    }
}

/// Test hook: `json.dumps(value)` of a parsed document as the problem family writes it.
#[pyfunction]
fn py_dumps(py: Python<'_>, text: &[u8]) -> PyObject {
    let mut out = String::new();
    match json::parse(text).map(|v| out::write_py_json(&mut out, &v)) {
        Some(Ok(())) => out.to_object(py),
        _ => py.None(),
    }
}

/// Test hook: (`round(x, 3)`, `round(x, 6)`, `iso_duration(x)` or None).
#[pyfunction]
fn value_formats(x: f64) -> (f64, f64, Option<String>) {
    (
        units::py_round(x, 3),
        units::py_round(x, 6),
        units::iso_duration(x).ok(),
    )
}

/// The raw table's derived columns of a packed texts column (LEB128 length + JSON per
/// statement) as Native streams (native/src/derive.rs); None when any statement is not sure.
#[pyfunction]
fn derive_columns(py: Python<'_>, texts: &[u8]) -> Option<Vec<Py<PyBytes>>> {
    let streams = derive::derive_texts(texts)?;
    Some(streams.iter().map(|s| PyBytes::new(py, s).into()).collect())
}

/// The LRS's "sure valid" verdicts (native/src/xapi.rs): one bool per statement of a request
/// body (an array, or one statement object) in xAPI `version`; None when the body does not parse
/// or the version is unknown. False = not sure: the Python validator decides.
#[pyfunction]
fn validate_statements(body: &[u8], version: &str) -> Option<Vec<bool>> {
    std::panic::catch_unwind(|| xapi::verdicts(body, version)).unwrap_or(None)
}

#[pymodule]
fn _fast(_py: Python<'_>, module: &PyModule) -> PyResult<()> {
    module.add_class::<FastTransformer>()?;
    module.add_function(wrap_pyfunction!(roundtrip, module)?)?;
    module.add_function(wrap_pyfunction!(py_dumps, module)?)?;
    module.add_function(wrap_pyfunction!(value_formats, module)?)?;
    module.add_function(wrap_pyfunction!(derive_columns, module)?)?;
    module.add_function(wrap_pyfunction!(validate_statements, module)?)?;
    module.add_function(wrap_pyfunction!(lowcard::low_cardinality, module)?)?;
    module.add_function(wrap_pyfunction!(prepare::prepare_statements, module)?)?;
    Ok(())
}
