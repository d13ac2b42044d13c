using System.Text.Json;

namespace MultiLora.Data.Readers;

/// <summary>
/// Walks a top-level JSON array element by element over a FileStream with a refilled buffer, so a 1 GB
/// llava_v1_5_mix665k.json never sits in memory as one string: only the current element (plus one buffer) does.
/// Each element's extent is found with <see cref="Utf8JsonReader.TrySkip"/>; when an element runs past the
/// buffer's end the unread tail is moved to the front, the buffer grows if one element fills it, and it is refilled.
/// </summary>
sealed class JsonArrayStreamer : IDisposable
{
    public const int DefaultBufferSize = 1 << 20;

    readonly Stream stream;
    readonly string file;
    byte[] buffer;
    int start, end;
    bool eof, started, finished;
    long index;

    public JsonArrayStreamer(string file, int bufferSize = DefaultBufferSize)
    {
        if (!File.Exists(file)) throw new FileNotFoundException($"{file}: data file not found", file);
        this.file = file;
        stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        buffer = new byte[Math.Max(bufferSize, 16)];
    }

    /// <summary>The index of the element <see cref="TryNext"/> returned last.</summary>
    public long Index => index - 1;

    /// <summary>
    /// The next element's bytes; valid only until the next call (the buffer is reused).
    /// </summary>
    public bool TryNext(out ReadOnlyMemory<byte> element)
    {
        element = default;
        if (finished) return false;
        if (!started)
        {
            Begin();
            if (finished) return false;
        }
        else
        {
            // After an element: ',' and another element, or ']' and the end.
            if (!SkipWhitespace()) throw Truncated();
            var separator = buffer[start++];
            if (separator == (byte)']') { End(); return false; }
            if (separator != (byte)',') throw new InvalidDataException($"{file}#{index}: expected ',' or ']' after record {index - 1}, found '{(char)separator}'");
        }
        if (!SkipWhitespace()) throw Truncated();
        int length;
        while (!TryMeasure(buffer.AsSpan(start, end - start), eof, out length))
        {
            if (eof) throw Truncated();
            Fill();
        }
        element = buffer.AsMemory(start, length);
        start += length;
        index++;
        return true;
    }

    void Begin()
    {
        started = true;
        if (!SkipWhitespace()) throw new InvalidDataException($"{file}: file is empty; expected a JSON array of records");
        if (end - start >= 3 && buffer[start] == 0xEF && buffer[start + 1] == 0xBB && buffer[start + 2] == 0xBF) { start += 3; SkipWhitespace(); }
        if (start >= end || buffer[start] != (byte)'[')
            throw new InvalidDataException($"{file}: expected a JSON array of records ('[' at the start); for one record per line use the .jsonl format");
        start++;
        if (!SkipWhitespace()) throw Truncated();
        if (buffer[start] == (byte)']') { start++; End(); }
    }

    void End()
    {
        finished = true;
        if (SkipWhitespace()) throw new InvalidDataException($"{file}: unexpected content after the closing ']' of the array");
    }

    /// <summary>Measures one complete JSON value at the front of <paramref name="data"/>; false when it is cut off.</summary>
    bool TryMeasure(ReadOnlySpan<byte> data, bool isFinal, out int length)
    {
        length = 0;
        try
        {
            var reader = new Utf8JsonReader(data, isFinal, default);
            if (!reader.Read()) return false;
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && !reader.TrySkip()) return false;
            length = checked((int)reader.BytesConsumed);
            return true;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file}#{index}: invalid JSON in record {index} ({e.Message})", e);
        }
    }

    /// <summary>Skips whitespace, refilling as needed; false at the end of the file.</summary>
    bool SkipWhitespace()
    {
        while (true)
        {
            while (start < end && buffer[start] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') start++;
            if (start < end) return true;
            if (eof) return false;
            Fill();
        }
    }

    void Fill()
    {
        if (start > 0)
        {
            Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
            end -= start;
            start = 0;
        }
        if (end == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
        var read = stream.Read(buffer, end, buffer.Length - end);
        if (read == 0) eof = true;
        end += read;
    }

    InvalidDataException Truncated() => new($"{file}#{index}: file ends inside the JSON array (truncated after {index} records)");

    public void Dispose() => stream.Dispose();
}
