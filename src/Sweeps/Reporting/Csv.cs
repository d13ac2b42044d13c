using System.Globalization;
using System.Text;

namespace MultiLora.Sweeps.Reporting;

/// <summary>A small CSV writer (RFC 4180 quoting, invariant numbers): the data behind each plot.</summary>
public static class Csv
{
    public static void Write(string path, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<object?>> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine(string.Join(",", header.Select(Field)));
        foreach (var row in rows) sb.AppendLine(string.Join(",", row.Select(Field)));
        File.WriteAllText(path, sb.ToString());
    }

    static string Field(object? value)
    {
        string text = value switch
        {
            null => "",
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };
        return text.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + text.Replace("\"", "\"\"") + "\"" : text;
    }
}
