//! `benchseal codec decode` and `benchseal codec generate`: the codec kernels on real
//! files, for a person checking a data set and for the process engine's whole-command runs.
//!
//! `decode` maps the file and streams it through the decoder in batches (resident memory
//! stays bounded however large the file), optionally writing JSON Lines, and prints a
//! summary: records, bytes, errors by kind, path, wall time and throughput. With
//! `--errors strict` (the default) the first bad record ends the command with exit code 2
//! and a message naming file, record, field and byte offset; with `skip` bad records are
//! counted by kind and left out. `generate` streams valid seeded records to a file, so a
//! multi-GB input can be produced with bounded memory.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use benchseal_benches::input::InputStream;
use benchseal_kernels::codec::encode::RecordGenerator;
use benchseal_kernels::codec::file::MappedInput;
use benchseal_kernels::codec::{
    CodePage, CodecError, CodecPath, Columns, ErrorKind, JsonlWriter, Layout, RecordDecoder,
    RecordFormat, Unmappable,
};

use crate::{ToolExit, bad_input};

/// Examples and exit codes of `codec decode`, after `--help`.
const DECODE_HELP: &str = r#"Examples:
  benchseal codec decode --layout customer.json CUSTOMER.DAT
  benchseal codec decode --layout customer.json CUSTOMER.DAT --jsonl customer.jsonl
  benchseal codec decode --layout customer.json --rdw --errors skip VB.DAT

Exit codes: 0 decoded; 1 an I/O error mid-run (nothing half-written is left); 2 bad input
(a bad layout, or a bad record under --errors strict: record, field, offset and byte)."#;

/// Examples and exit codes of `codec generate`, after `--help`.
const GENERATE_HELP: &str = r#"Examples:
  benchseal codec generate --layout customer.json --records 100000 CUSTOMER.DAT
  benchseal codec generate --layout customer.json --bytes 256MiB --seed demo big.dat

Exit codes: 0 written; 1 an I/O error (the file is not left half-written); 2 bad input (a
bad layout or size)."#;

/// Arguments of `benchseal codec`.
#[derive(Debug, clap::Args)]
#[command(after_help = format!("{DECODE_HELP}\n\n{GENERATE_HELP}"))]
pub struct CodecArgs {
    #[command(subcommand)]
    pub command: CodecCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum CodecCommand {
    /// Decode a file of COBOL records and print a summary.
    #[command(after_help = DECODE_HELP)]
    Decode(DecodeArgs),
    /// Write a file of valid, seeded records of a layout.
    #[command(after_help = GENERATE_HELP)]
    Generate(GenerateArgs),
}

/// What a bad record does to `decode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ErrorMode {
    /// Stop at the first bad record (exit code 2).
    Strict,
    /// Leave bad records out and count them by kind.
    Skip,
}

/// Which decoder code runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PathChoice {
    Scalar,
    Simd,
}

#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// Record layout (JSON, schema `benchseal.codec.layout/1`).
    #[arg(long)]
    pub layout: PathBuf,
    /// Code page of DISPLAY and zoned fields (overrides the layout's default).
    #[arg(long)]
    pub codepage: Option<CodePage>,
    /// The data file.
    pub data: PathBuf,
    /// Records are RDW-framed (variable length) instead of fixed length.
    #[arg(long)]
    pub rdw: bool,
    /// Also write every decoded record as one JSON object per line to this file.
    #[arg(long)]
    pub jsonl: Option<PathBuf>,
    /// What a bad record does.
    #[arg(long, value_enum, default_value_t = ErrorMode::Strict)]
    pub errors: ErrorMode,
    /// DISPLAY bytes without a printable mapping: error, replace (U+FFFD) or keep.
    #[arg(long, default_value = "error")]
    pub unmappable: Unmappable,
    /// Decoder code path.
    #[arg(long, value_enum, default_value_t = PathChoice::Simd)]
    pub path: PathChoice,
    /// Records decoded per batch (bounds resident memory): 1 to 1048576, and a batch may
    /// hold at most 1 GiB of records.
    #[arg(long, default_value_t = 16_384,
          value_parser = clap::value_parser!(u64).range(1..=MAX_BATCH_RECORDS as u64))]
    pub batch_records: u64,
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Record layout (JSON, schema `benchseal.codec.layout/1`).
    #[arg(long)]
    pub layout: PathBuf,
    /// Code page of DISPLAY and zoned fields (overrides the layout's default).
    #[arg(long)]
    pub codepage: Option<CodePage>,
    /// Number of records to write.
    #[arg(long, required_unless_present = "bytes", conflicts_with = "bytes")]
    pub records: Option<u64>,
    /// Approximate size to write instead, e.g. `4GiB`, `512MiB`, `100000` (whole records,
    /// not above the size).
    #[arg(long, value_parser = parse_size)]
    pub bytes: Option<u64>,
    /// Write RDW-framed variable-length records.
    #[arg(long)]
    pub rdw: bool,
    /// Name of the seeded input stream; the same name gives the same bytes.
    #[arg(long, default_value = "benchseal/codec/generate")]
    pub seed: String,
    /// Output file.
    pub out: PathBuf,
}

pub fn execute(args: CodecArgs) -> Result<ToolExit> {
    match args.command {
        CodecCommand::Decode(args) => decode(args),
        CodecCommand::Generate(args) => generate(args),
    }
}

fn load_layout(path: &Path) -> Result<Layout> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_input(format!("reading {}: {e}", path.display())))?;
    Layout::from_json(&text).map_err(|e| bad_input(format!("{}: {e}", path.display())))
}

fn format_of(rdw: bool) -> RecordFormat {
    if rdw {
        RecordFormat::Rdw
    } else {
        RecordFormat::Fixed
    }
}

/// What `decode` counted.
#[derive(Debug, Default)]
struct DecodeSummary {
    decoded: u64,
    errors: BTreeMap<ErrorKind, u64>,
    first_errors: Vec<String>,
}

/// The most records one batch may hold.
const MAX_BATCH_RECORDS: usize = 1 << 20;
/// The most bytes of records one batch may hold.
const MAX_BATCH_BYTES: usize = 1 << 30;

/// How many skipped records are described one by one on stderr.
const ERRORS_SHOWN: usize = 5;

fn decode(args: DecodeArgs) -> Result<ToolExit> {
    let layout = load_layout(&args.layout)?;
    let batch_records = args.batch_records as usize;
    if batch_records.saturating_mul(layout.record_length) > MAX_BATCH_BYTES {
        return Err(bad_input(format!(
            "--batch-records {batch_records} of {}-byte records is more than 1 GiB per batch; \
             use at most {}",
            layout.record_length,
            MAX_BATCH_BYTES / layout.record_length.max(1)
        )));
    }
    let input = MappedInput::open(&args.data)
        .map_err(|e| bad_input(format!("{}: cannot open: {e}", args.data.display())))?;
    let path = match args.path {
        PathChoice::Scalar => CodecPath::Scalar,
        PathChoice::Simd => CodecPath::Simd,
    };
    let decoder = RecordDecoder::new(&layout, args.codepage, args.unmappable, path);
    let format = format_of(args.rdw);
    let mut jsonl = match &args.jsonl {
        Some(out) => Some(JsonlOutput::create(out)?),
        None => None,
    };

    let mut summary = DecodeSummary::default();
    // Time spent in the output (formatting and writing) inside the decode loop; the rest
    // of the loop is decoding, mapped-file reads included.
    let mut output_seconds = 0.0;
    let started = Instant::now();
    let result = {
        // Skipped records are counted as they come (kind and the first few messages), so
        // memory stays bounded however many records are bad.
        let (mut errors, mut first_errors) = (BTreeMap::new(), Vec::new());
        let mut on_error = |error: CodecError| match args.errors {
            ErrorMode::Strict => Err(error),
            ErrorMode::Skip => {
                *errors.entry(error.kind()).or_default() += 1;
                if first_errors.len() < ERRORS_SHOWN {
                    first_errors.push(error.to_string());
                }
                Ok(())
            }
        };
        let result = input.decode_batches::<anyhow::Error>(
            &layout,
            &decoder,
            format,
            batch_records,
            &mut on_error,
            &mut |columns| {
                summary.decoded += columns.records() as u64;
                if let Some(out) = jsonl.as_mut() {
                    let started = Instant::now();
                    out.write(columns)?;
                    output_seconds += started.elapsed().as_secs_f64();
                }
                Ok(())
            },
        );
        summary.errors = errors;
        summary.first_errors = first_errors;
        result
    };
    let decode_loop = started.elapsed().as_secs_f64();
    if let Err(error) = result {
        return match error.downcast::<CodecError>() {
            Ok(codec) => Err(bad_input(format!("{}: {codec}", args.data.display()))),
            Err(other) => Err(other),
        };
    }
    let times = match jsonl {
        Some(out) => Some(out.finish()?),
        None => None,
    };
    let elapsed = started.elapsed().as_secs_f64();

    let bytes = input.bytes().len() as u64;
    let skipped: u64 = summary.errors.values().sum();
    let mut report = String::new();
    let line = |report: &mut String, key: &str, value: String| {
        report.push_str(&format!("{key:<12}{value}\n"));
    };
    line(&mut report, "file", args.data.display().to_string());
    line(
        &mut report,
        "layout",
        format!(
            "{} ({} fields, record length {}, {})",
            args.layout.display(),
            layout.fields.len(),
            layout.record_length,
            if args.rdw { "rdw" } else { "fixed" }
        ),
    );
    line(&mut report, "path", path_label(decoder.fast_path(), path));
    line(
        &mut report,
        "records",
        format!("{} decoded, {skipped} skipped", summary.decoded),
    );
    line(&mut report, "bytes", bytes.to_string());
    let errors = if summary.errors.is_empty() {
        "none".to_string()
    } else {
        summary
            .errors
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    line(&mut report, "errors", errors);
    line(&mut report, "time", format!("{elapsed:.3} s"));
    line(&mut report, "throughput", throughput(bytes, elapsed));
    if let Some(times) = times {
        // The split: each part's seconds and the input bytes per second it alone would
        // give, so the slowest part is plain to see.
        let decode = (decode_loop - output_seconds).max(0.0);
        let part = |seconds: f64| format!("{seconds:.3} s ({})", throughput(bytes, seconds));
        line(&mut report, "decode", part(decode));
        line(&mut report, "format", part(times.format_seconds));
        line(
            &mut report,
            "write",
            format!(
                "{} on a second thread, for {} bytes of JSON Lines",
                part(times.write_seconds),
                times.written
            ),
        );
    }
    print!("{report}");
    if !summary.first_errors.is_empty() {
        eprintln!("first skipped records:");
        for message in &summary.first_errors {
            eprintln!("  {}: {message}", args.data.display());
        }
    }
    Ok(ToolExit::Success)
}

fn path_label(fast: benchseal_kernels::codec::FastPath, asked: CodecPath) -> String {
    match asked {
        CodecPath::Scalar => "scalar".into(),
        CodecPath::Simd | CodecPath::AtMost(_) => fast.label(),
    }
}

/// Bytes per second in MiB/s, or GiB/s from 1 GiB/s up.
fn throughput(bytes: u64, seconds: f64) -> String {
    if seconds <= 0.0 {
        return "n/a (too fast to time)".into();
    }
    let per_second = bytes as f64 / seconds;
    let gib = (1u64 << 30) as f64;
    if per_second >= gib {
        format!("{:.2} GiB/s", per_second / gib)
    } else {
        format!("{:.1} MiB/s", per_second / (1u64 << 20) as f64)
    }
}

/// A JSON Lines file written to a temporary name and renamed into place when complete,
/// so a failed decode never leaves a partial file behind. Formatting and writing are
/// timed apart for the summary's split.
struct JsonlOutput {
    writer: Option<JsonlWriter>,
    format_seconds: f64,
    background: BackgroundWriter,
}

impl JsonlOutput {
    fn create(path: &Path) -> Result<JsonlOutput> {
        let file = Sink::open(path)?;
        Ok(JsonlOutput {
            writer: None,
            format_seconds: 0.0,
            background: BackgroundWriter::start(file, path.to_path_buf()),
        })
    }

    fn write(&mut self, columns: &Columns) -> Result<()> {
        let writer = self.writer.get_or_insert_with(|| JsonlWriter::new(columns));
        let mut row = 0;
        while row < columns.records() {
            let started = Instant::now();
            row = writer.format(columns, row..columns.records());
            self.format_seconds += started.elapsed().as_secs_f64();
            if writer.is_full() {
                self.background.send(writer)?;
            }
        }
        Ok(())
    }

    /// Writes what is left, waits for the writing thread and renames the file into place.
    fn finish(mut self) -> Result<JsonlTimes> {
        if let Some(writer) = self.writer.as_mut() {
            self.background.send(writer)?;
        }
        let (write_seconds, written) = self.background.finish()?;
        Ok(JsonlTimes {
            format_seconds: self.format_seconds,
            write_seconds,
            written,
        })
    }
}

/// Formatted buffers of JSON Lines in flight at most: the one being written, one queued,
/// the one being filled.
const JSONL_BUFFERS: usize = 3;

/// What the writing thread gives back: the output, seconds spent writing, bytes written.
type Written = std::io::Result<(Sink, f64, u64)>;

/// A thread that writes formatted JSON Lines while the next records are decoded and
/// formatted. Buffers go to it through a bounded channel and come back empty to be filled
/// again, so memory stays at [`JSONL_BUFFERS`] buffers however large the file.
struct BackgroundWriter {
    path: PathBuf,
    full: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    empty: std::sync::mpsc::Receiver<Vec<u8>>,
    allocated: usize,
    thread: Option<std::thread::JoinHandle<Written>>,
}

impl BackgroundWriter {
    fn start(mut sink: Sink, path: PathBuf) -> BackgroundWriter {
        let (full, queued) = std::sync::mpsc::sync_channel::<Vec<u8>>(1);
        let (returned, empty) = std::sync::mpsc::channel::<Vec<u8>>();
        let thread = std::thread::spawn(move || -> Written {
            let (mut seconds, mut written) = (0.0, 0u64);
            for buf in queued {
                let started = Instant::now();
                sink.write_all(&buf)?;
                seconds += started.elapsed().as_secs_f64();
                written += buf.len() as u64;
                // The formatting side may have finished already; then the buffer is freed.
                let _ = returned.send(buf);
            }
            Ok((sink, seconds, written))
        });
        BackgroundWriter {
            path,
            full: Some(full),
            empty,
            allocated: 0,
            thread: Some(thread),
        }
    }

    /// Hands `writer`'s formatted bytes to the thread, taking an empty buffer in exchange
    /// (a new one while fewer than [`JSONL_BUFFERS`] exist, else one the thread is done
    /// with). A write that failed on the thread is reported here.
    fn send(&mut self, writer: &mut JsonlWriter) -> Result<()> {
        if writer.pending().is_empty() {
            return Ok(());
        }
        let spare = match self.empty.try_recv() {
            Ok(buf) => buf,
            Err(_) if self.allocated + 1 < JSONL_BUFFERS => {
                self.allocated += 1;
                Vec::new()
            }
            Err(_) => match self.empty.recv() {
                Ok(buf) => buf,
                Err(_) => return Err(self.failure()),
            },
        };
        let buf = writer.take_pending(spare);
        let sent = self.full.as_ref().map(|full| full.send(buf));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err(self.failure()),
        }
    }

    /// The thread stopped early: its write error, with the path.
    fn failure(&mut self) -> anyhow::Error {
        match self.join() {
            Err(e) => e,
            Ok(_) => anyhow::anyhow!(
                "writing {}: the writing thread stopped",
                self.path.display()
            ),
        }
    }

    fn join(&mut self) -> Result<(Sink, f64, u64)> {
        self.full = None;
        let thread = self
            .thread
            .take()
            .ok_or_else(|| anyhow::anyhow!("writing {}: already finished", self.path.display()))?;
        match thread.join() {
            Ok(result) => result.with_context(|| format!("writing {}", self.path.display())),
            Err(_) => Err(anyhow::anyhow!(
                "writing {}: the writing thread panicked",
                self.path.display()
            )),
        }
    }

    /// Waits for every buffer to be written and puts the file in place; seconds spent
    /// writing and bytes written.
    fn finish(mut self) -> Result<(f64, u64)> {
        let (sink, seconds, written) = self.join()?;
        let started = Instant::now();
        sink.finish(&self.path)?;
        Ok((seconds + started.elapsed().as_secs_f64(), written))
    }
}

/// A decode that stops early (a bad record, an error) drops the writer: the thread is
/// told to stop and waited for, so its temporary file is removed before the process exits
/// instead of being left beside the output.
impl Drop for BackgroundWriter {
    fn drop(&mut self) {
        self.full = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Where JSON Lines go: a regular file (or a new name) through a temporary file renamed
/// into place when complete; a symbolic link is written through to its target, and a
/// special file (`/dev/null`, a pipe) is written directly, never replaced.
enum Sink {
    /// Renamed onto `target` (the path, or a link's target) when complete.
    Temporary {
        file: tempfile::NamedTempFile,
        target: PathBuf,
    },
    Direct(std::fs::File),
}

impl Sink {
    fn open(path: &Path) -> Result<Sink> {
        let through_link =
            std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        let special = std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir());
        let target = if through_link {
            std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        } else {
            path.to_path_buf()
        };
        // A new name, a regular file, or a link to one (whose target is replaced, the link
        // kept): written beside the target and renamed onto it.
        if !special && (!through_link || std::fs::metadata(&target).is_ok_and(|m| m.is_file())) {
            let file = temporary_beside(&target)?;
            return Ok(Sink::Temporary { file, target });
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map(Sink::Direct)
            .map_err(|e| bad_input(format!("{}: cannot write: {e}", path.display())))
    }

    fn finish(self, path: &Path) -> Result<()> {
        match self {
            Sink::Temporary { file, target } => {
                file.persist(&target)
                    .with_context(|| format!("renaming into {}", target.display()))?;
            }
            Sink::Direct(mut file) => file
                .flush()
                .with_context(|| format!("writing {}", path.display()))?,
        }
        Ok(())
    }
}

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Temporary { file, .. } => file.write(buf),
            Sink::Direct(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Temporary { file, .. } => file.flush(),
            Sink::Direct(f) => f.flush(),
        }
    }
}

/// Where a `--jsonl` decode spent its time besides decoding.
struct JsonlTimes {
    format_seconds: f64,
    write_seconds: f64,
    written: u64,
}

/// A temporary file in `path`'s directory (renamed onto `path` when complete), readable
/// by others as an ordinary output file is.
fn temporary_beside(path: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let file = tempfile::Builder::new()
        .prefix(".benchseal-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("setting permissions of {}", file.path().display()))?;
    }
    Ok(file)
}

fn generate(args: GenerateArgs) -> Result<ToolExit> {
    let layout = load_layout(&args.layout)?;
    let format = format_of(args.rdw);
    if args.rdw && layout.record_length + 4 + 15 > usize::from(u16::MAX) {
        return Err(bad_input(format!(
            "{}: records of {} bytes do not fit a 16-bit RDW length",
            args.layout.display(),
            layout.record_length
        )));
    }
    let generator = RecordGenerator::new(&layout, args.codepage);
    let mut stream = InputStream::new(&args.seed);
    let mut random = || stream.next_u64();
    let file = temporary_beside(&args.out)?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    let mut buf = vec![0u8; layout.record_length + 4 + 15];
    let (mut records, mut written) = (0u64, 0u64);
    loop {
        match (args.records, args.bytes) {
            (Some(limit), _) if records >= limit => break,
            (None, Some(limit)) if written + max_record_bytes(&layout, format) > limit => {
                break;
            }
            _ => {}
        }
        let record = generator.next_record(&mut random, format, &mut buf);
        writer
            .write_all(record)
            .with_context(|| format!("writing {}", args.out.display()))?;
        records += 1;
        written += record.len() as u64;
    }
    let file = writer
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("writing {}", args.out.display()))?;
    file.persist(&args.out)
        .with_context(|| format!("renaming into {}", args.out.display()))?;
    println!(
        "wrote {records} records ({written} bytes, {}) to {}",
        if args.rdw { "rdw" } else { "fixed" },
        args.out.display()
    );
    Ok(ToolExit::Success)
}

/// The largest record `generate` may write, so a `--bytes` limit is never exceeded.
fn max_record_bytes(layout: &Layout, format: RecordFormat) -> u64 {
    match format {
        RecordFormat::Fixed => layout.record_length as u64,
        RecordFormat::Rdw => (layout.record_length + 4 + 15) as u64,
    }
}

/// A byte count: digits with an optional binary suffix K/M/G/T (`KiB`, `MB` and the like
/// are read as powers of 1024 too).
fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, suffix) = trimmed.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 4GiB or 1000000"))?;
    let shift = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        other => return Err(format!("unknown size suffix `{other}` in `{text}`")),
    };
    number
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("4XB").is_err());
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn throughput_units() {
        assert_eq!(throughput(1 << 30, 0.5), "2.00 GiB/s");
        assert_eq!(throughput(1 << 20, 1.0), "1.0 MiB/s");
    }
}
