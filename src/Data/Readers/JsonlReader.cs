using System.Text.Json;
using MultiLora.Data.Errors;
using MultiLora.Data.Model;
using MultiLora.Data.Specs;

namespace MultiLora.Data.Readers;

/// <summary>
/// Reads JSON Lines: one record per line (LLaVA, ShareGPT or question/answer rows). The record index is the
/// 0-based line number; blank lines are skipped; a line that is not valid JSON is a malformed record.
/// </summary>
public sealed class JsonlReader : IConversationReader
{
    public IEnumerable<Conversation> Read(string file, ColumnMapping columns, DataErrorPolicy errors)
    {
        if (!File.Exists(file)) throw new FileNotFoundException($"{file}: data file not found", file);
        using var reader = new StreamReader(file, detectEncodingFromByteOrderMarks: true);
        long index = -1;
        while (reader.ReadLine() is { } line)
        {
            index++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var conversation = Parse(line, columns, file, index, errors);
            if (conversation is not null) yield return conversation;
        }
    }

    static Conversation? Parse(string line, ColumnMapping columns, string file, long index, DataErrorPolicy errors)
    {
        var origin = RecordBuilder.Origin(file, index);
        try
        {
            using var doc = ParseLine(line, origin);
            return JsonRecordParser.Parse(doc.RootElement, columns, origin, index);
        }
        catch (DataRecordException e) { errors.Handle(e); return null; }
    }

    static JsonDocument ParseLine(string line, string origin)
    {
        try { return JsonDocument.Parse(line); }
        catch (JsonException e) { throw new DataRecordException(DataErrorKind.MalformedRecord, origin, $"line is not valid JSON ({e.Message})", e); }
    }
}
