using System.CommandLine;
using CoreScope.Bench;

// The benchmarks of docs/benchmarks.md. Each command prints markdown tables and writes JSON beside them.
var results = new Option<DirectoryInfo>("--results")
{
    Description = "Where the JSON and markdown results are written",
    DefaultValueFactory = _ => new DirectoryInfo(Path.Combine(Directory.GetCurrentDirectory(), "bench-results")),
    Recursive = true,
};
var database = new Option<FileInfo>("--db") { Description = "The CoreScope database to measure", Required = true };
var work = new Option<DirectoryInfo>("--work")
{
    Description = "A scratch folder for copies (defaults beside the database)",
};
var runs = new Option<int>("--runs") { Description = "Runs of each method", DefaultValueFactory = _ => 3 };
var megabytes = new Option<int>("--mb") { Description = "The database's size in MB", DefaultValueFactory = _ => 256 };
var output = new Option<FileInfo>("--out") { Description = "The database file to write", Required = true };
var seconds = new Option<int>("--seconds") { Description = "Seconds per phase", DefaultValueFactory = _ => 20 };
var rate = new Option<int>("--rate") { Description = "The writer's commits per second", DefaultValueFactory = _ => 100 };

var generate = new Command("generate", "Write a realistic CoreScope database of about --mb MB, then switch it to WAL") { megabytes, output };
generate.SetAction(async (parse, _) =>
    await Benchmarks.GenerateAsync(parse.GetValue(output)!.FullName, parse.GetValue(megabytes), Create(parse)));

var backup = new Command("backup", "Time cp, the sqlite3 CLI, the online backup API, BackupService and GET /api/backup on one database") { database, work, runs };
backup.SetAction(async (parse, _) =>
    await Benchmarks.BackupAsync(parse.GetValue(database)!.FullName, WorkFolder(parse), parse.GetValue(runs), Create(parse)));

var writers = new Command("writers", "A writer's rate and commit latency without and with backups running back to back") { database, work, seconds, rate };
writers.SetAction(async (parse, _) =>
    await Benchmarks.WritersAsync(parse.GetValue(database)!.FullName, WorkFolder(parse), parse.GetValue(seconds), parse.GetValue(rate), Create(parse)));

var memory = new Command("memory", "The server's resident memory before and at its peak while a backup downloads") { database, work };
memory.SetAction(async (parse, _) =>
    await Benchmarks.MemoryAsync(parse.GetValue(database)!.FullName, WorkFolder(parse), Create(parse)));

var drill = new Command("drill", "Store one backup of the database in the real server, then time its restore drill and its peak disk in the temp folder") { database, work };
drill.SetAction(async (parse, _) =>
    await Benchmarks.DrillAsync(parse.GetValue(database)!.FullName, WorkFolder(parse), Create(parse)));

var quick = new Command("quick", "Everything once on a fresh 32 MB database: proves the benchmark still runs");
quick.SetAction(async (parse, _) => await Benchmarks.QuickAsync(Create(parse)));

var root = new RootCommand("CoreScope.Analyzer benchmarks") { generate, backup, writers, memory, drill, quick };
root.Options.Add(results);
return await root.Parse(args).InvokeAsync();

Report Create(ParseResult parse) => new(parse.GetValue(results)!.FullName, "corescope-bench " + string.Join(' ', args));

string WorkFolder(ParseResult parse) =>
    parse.GetValue(work)?.FullName ?? Path.Combine(Path.GetDirectoryName(parse.GetValue(database)!.FullName)!, "bench-work");
