using System.Globalization;
using System.Text;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace CoreScope.Bench;

/// <summary>Prints each result as a markdown table and keeps it, with its JSON, in the results folder.</summary>
public sealed class Report(string resultsDirectory, string command)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private readonly StringBuilder _markdown = new();
    private readonly Dictionary<string, object> _json = new();

    static Report()
    {
        // Redirected output defaults to 80 columns, which folds the tables; results are read in files and logs.
        AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 220);
    }

    public static string Format(double value, string format = "0.00") => value.ToString(format, CultureInfo.InvariantCulture);

    public void Heading(string text)
    {
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(text)}[/]");
        _markdown.AppendLine().AppendLine("### " + text).AppendLine();
    }

    public void Line(string text)
    {
        AnsiConsole.WriteLine(text);
        _markdown.AppendLine(text).AppendLine();
    }

    public void Table(string[] columns, IEnumerable<string[]> rows)
    {
        var table = new Table().Border(TableBorder.Markdown);
        foreach (var column in columns)
        {
            table.AddColumn(new TableColumn(Markup.Escape(column)));
        }

        foreach (var row in rows)
        {
            table.AddRow(row.Select(cell => (IRenderable)new Text(cell)).ToArray());
        }

        AnsiConsole.Write(table);
        AnsiConsole.WriteLine();
        _markdown.AppendLine(Render(table));
    }

    public void Data(string name, object value) => _json[name] = value;

    public string Save(string name)
    {
        Directory.CreateDirectory(resultsDirectory);
        var stamp = DateTimeOffset.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var jsonPath = Path.Combine(resultsDirectory, $"{name}-{stamp}.json");
        _json["command"] = command;
        _json["machine"] = $"{Environment.ProcessorCount} cores, {Environment.OSVersion}";
        _json["when"] = DateTimeOffset.UtcNow;
        File.WriteAllText(jsonPath, JsonSerializer.Serialize(_json, Indented));
        File.WriteAllText(Path.ChangeExtension(jsonPath, ".md"), $"Command: `{command}`{Environment.NewLine}{_markdown}");
        AnsiConsole.MarkupLine($"[grey]Results: {Markup.Escape(jsonPath)}[/]");
        return jsonPath;
    }

    // The same Spectre table, rendered without colour into text for the markdown file.
    private static string Render(Table table)
    {
        using var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 400;
        console.Write(table);
        return writer.ToString();
    }
}
