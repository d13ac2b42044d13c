using System.Globalization;
using CsvHelper;
using MultiLora.Data.Errors;
using MultiLora.Data.Model;
using MultiLora.Data.Specs;

namespace MultiLora.Data.Readers;

/// <summary>
/// Reads CSV or TSV with a header row: question/answer columns (or a conversations column holding JSON),
/// an image path column or a base64 image column (as in MMBench TSVs). The record index counts data rows from 0.
/// </summary>
public sealed class DelimitedReader(char delimiter) : IConversationReader
{
    public static DelimitedReader Csv() => new(',');
    public static DelimitedReader Tsv() => new('\t');

    public IEnumerable<Conversation> Read(string file, ColumnMapping columns, DataErrorPolicy errors)
    {
        if (!File.Exists(file)) throw new FileNotFoundException($"{file}: data file not found", file);
        using var csv = CsvReader.FromFile(file, new CsvReaderOptions { Separator = delimiter, HasHeader = true });
        var header = csv.Headers.ToArray();
        if (header.Length == 0) throw new InvalidDataException($"{file}: no header row");
        CheckColumns(header, columns, file);
        long index = 0;
        while (csv.Read())
        {
            var conversation = Parse(csv, header, columns, file, index++, errors);
            if (conversation is not null) yield return conversation;
        }
    }

    static void CheckColumns(string[] header, ColumnMapping columns, string file)
    {
        string?[] wanted = columns.IsQuestionAnswer ? [columns.Question, columns.Answer, columns.ImageBase64] : [columns.Conversations, columns.ImageBase64];
        foreach (var column in wanted)
            if (column is not null && !header.Contains(column))
                throw new InvalidDataException($"{file}: column '{column}' not found in the header ({string.Join(", ", header)})");
    }

    static Conversation? Parse(CsvReader csv, string[] header, ColumnMapping columns, string file, long index, DataErrorPolicy errors)
    {
        var origin = RecordBuilder.Origin(file, index);
        try
        {
            string? Field(string? name) => name is not null && header.Contains(name) ? csv.GetString(name) : null;
            var id = Field(columns.Id) is { Length: > 0 } given ? given : index.ToString(CultureInfo.InvariantCulture);
            ImageSource? image = null;
            if (Field(columns.ImageBase64) is { Length: > 0 } b64) image = ImageSource.FromBytes(RecordBuilder.FromBase64(b64, origin));
            else if (Field(columns.Image) is { Length: > 0 } path) image = ImageSource.FromPath(path);
            var turns = columns.IsQuestionAnswer
                ? RecordBuilder.QuestionAnswer(Field(columns.Question), Field(columns.Answer), image is not null, origin)
                : Field(columns.Conversations) is { Length: > 0 } json ? JsonRecordParser.TurnsFromJsonText(json, origin) : [];
            return new Conversation(id, turns, image, origin);
        }
        catch (DataRecordException e) { errors.Handle(e); return null; }
    }
}
