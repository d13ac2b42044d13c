using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using MultiLora.Eval.Scoring;

namespace MultiLora.Eval.Running;

/// <summary>
/// A task's per-sample JSONL, appended and flushed as each sample finishes, so an interrupted run loses at most
/// the line being written. On load a torn last line is cut off (that sample is simply redone); a broken line
/// anywhere else is an error naming the line.
/// </summary>
public sealed class SampleLog : IDisposable
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    readonly StreamWriter _writer;
    public IReadOnlyList<SampleRecord> Existing { get; }

    SampleLog(StreamWriter writer, IReadOnlyList<SampleRecord> existing) { _writer = writer; Existing = existing; }

    public static SampleLog Open(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var existing = File.Exists(path) ? LoadRepairing(path) : [];
        var writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
        return new SampleLog(writer, existing);
    }

    public void Append(SampleRecord record)
    {
        _writer.Write(JsonSerializer.Serialize(record, Json) + "\n");
        _writer.Flush();
    }

    public static IReadOnlyList<SampleRecord> Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: per-sample log not found", path);
        return Parse(File.ReadAllText(path), path, out _);
    }

    static List<SampleRecord> LoadRepairing(string path)
    {
        var text = File.ReadAllText(path);
        var records = Parse(text, path, out var goodBytes);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Write);
        if (goodBytes < fs.Length) fs.SetLength(goodBytes);
        if (goodBytes > 0 && goodBytes == Encoding.UTF8.GetByteCount(text) && !text.EndsWith('\n'))
        {
            fs.Seek(0, SeekOrigin.End);
            fs.WriteByte((byte)'\n'); // the next record must start on its own line
        }
        return records;
    }

    /// <param name="goodBytes">length of the prefix holding whole records (a torn last line is excluded).</param>
    static List<SampleRecord> Parse(string text, string path, out long goodBytes)
    {
        var records = new List<SampleRecord>();
        var lines = text.Split('\n');
        long offset = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var isLast = i == lines.Length - 1;
            if (line.Trim().Length > 0)
            {
                try { records.Add(JsonSerializer.Deserialize<SampleRecord>(line, Json) ?? throw new JsonException("null record")); }
                catch (JsonException e)
                {
                    if (isLast) { goodBytes = offset; return records; } // torn by an interruption: that sample is redone
                    throw new InvalidDataException($"{path}:{i + 1}: broken per-sample record ({e.Message})", e);
                }
            }
            offset += Encoding.UTF8.GetByteCount(line) + (isLast ? 0 : 1);
        }
        goodBytes = offset;
        return records;
    }

    public void Dispose() => _writer.Dispose();
}
