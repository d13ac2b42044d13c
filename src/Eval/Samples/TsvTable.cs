using System.Text;

namespace MultiLora.Eval.Samples;

/// <summary>
/// A tab-separated table as pandas writes it (to_csv(sep='\t')): fields containing a tab, quote or newline
/// are wrapped in double quotes with quotes doubled. Small and exact, so the MMBench reader needs no CSV package.
/// </summary>
public sealed class TsvTable
{
    public required IReadOnlyList<string> Header { get; init; }
    public required IReadOnlyList<string[]> Rows { get; init; }

    public static TsvTable Read(string path)
    {
        JsonFiles.RequireFile(path);
        var records = Parse(File.ReadAllText(path), path);
        if (records.Count == 0) throw new InvalidDataException($"{path}: empty TSV (no header)");
        var header = records[0];
        for (var i = 1; i < records.Count; i++)
            if (records[i].Length != header.Length)
                throw new InvalidDataException($"{path}#{i}: {records[i].Length} fields, header has {header.Length}");
        return new TsvTable { Header = header, Rows = records.Skip(1).ToList() };
    }

    public string Get(string[] row, string column)
    {
        var i = IndexOf(column);
        return i < 0 ? "" : row[i];
    }

    public int IndexOf(string column)
    {
        for (var i = 0; i < Header.Count; i++) if (Header[i] == column) return i;
        return -1;
    }

    static List<string[]> Parse(string text, string path)
    {
        var records = new List<string[]>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            if (field.Length == 0 && text[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= text.Length) throw new InvalidDataException($"{path}#{records.Count}: unterminated quoted field");
                    if (text[i] == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i += 2; continue; }
                        i++;
                        break;
                    }
                    field.Append(text[i++]);
                }
                continue;
            }
            var c = text[i++];
            if (c == '\t') { fields.Add(field.ToString()); field.Clear(); }
            else if (c == '\n' || c == '\r')
            {
                if (c == '\r' && i < text.Length && text[i] == '\n') i++;
                fields.Add(field.ToString()); field.Clear();
                if (!(fields.Count == 1 && fields[0].Length == 0)) records.Add(fields.ToArray());
                fields.Clear();
            }
            else field.Append(c);
        }
        if (field.Length > 0 || fields.Count > 0) { fields.Add(field.ToString()); records.Add(fields.ToArray()); }
        return records;
    }
}
