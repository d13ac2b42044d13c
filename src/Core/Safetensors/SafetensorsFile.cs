using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Core.Safetensors;

/// <summary>Where one tensor sits in a safetensors file.</summary>
public sealed record TensorEntry(string Name, string DType, long[] Shape, long Begin, long End, string File)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// One .safetensors file: the header is parsed and checked on open; tensor bytes are read on demand
/// straight from disk into the tensor's memory (no intermediate copy, so a 7B checkpoint never sits
/// in RAM twice).
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    readonly SafeFileHandle _handle;
    readonly long _dataStart;

    public string Path { get; }
    public IReadOnlyDictionary<string, TensorEntry> Tensors { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    SafetensorsFile(string path, SafeFileHandle handle, long dataStart, Dictionary<string, TensorEntry> tensors, Dictionary<string, string> metadata)
    {
        Path = path; _handle = handle; _dataStart = dataStart; Tensors = tensors; Metadata = metadata;
    }

    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: safetensors file not found", path);
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            long fileLength = RandomAccess.GetLength(handle);
            if (fileLength < 8) throw Bad(path, $"file is {fileLength} bytes, too short for a safetensors header");
            Span<byte> lengthBytes = stackalloc byte[8];
            RandomAccess.Read(handle, lengthBytes, 0);
            long headerLength = BitConverter.ToInt64(lengthBytes);
            if (headerLength <= 0 || headerLength > fileLength - 8 || headerLength > 100_000_000)
                throw Bad(path, $"header length {headerLength} does not fit the file size {fileLength} (truncated or not a safetensors file)");
            var header = new byte[headerLength];
            RandomAccess.Read(handle, header, 8);
            long dataStart = 8 + headerLength;
            var (tensors, metadata) = ParseHeader(path, header, fileLength - dataStart);
            return new SafetensorsFile(path, handle, dataStart, tensors, metadata);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    static (Dictionary<string, TensorEntry>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long dataLength)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw Bad(path, $"header is not valid JSON ({e.Message})"); }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad(path, "header is not a JSON object");

        var tensors = new Dictionary<string, TensorEntry>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (prop.Name == "__metadata__")
            {
                foreach (var m in prop.Value.EnumerateObject()) metadata[m.Name] = m.Value.ToString();
                continue;
            }
            var t = prop.Value;
            string dtype = t.TryGetProperty("dtype", out var d) ? d.GetString() ?? "" : throw Bad(path, $"tensor '{prop.Name}' has no dtype");
            if (!SafetensorsDType.IsKnown(dtype)) throw Bad(path, $"tensor '{prop.Name}' has dtype {dtype}, which MultiLora cannot read (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
            long[] shape = t.TryGetProperty("shape", out var s) ? s.EnumerateArray().Select(x => x.GetInt64()).ToArray() : throw Bad(path, $"tensor '{prop.Name}' has no shape");
            if (!t.TryGetProperty("data_offsets", out var o) || o.GetArrayLength() != 2) throw Bad(path, $"tensor '{prop.Name}' has no data_offsets pair");
            long begin = o[0].GetInt64(), end = o[1].GetInt64();
            var entry = new TensorEntry(prop.Name, dtype, shape, begin, end, path);
            long expected = entry.ElementCount * SafetensorsDType.ElementSize(dtype);
            if (begin < 0 || end < begin || end - begin != expected)
                throw Bad(path, $"tensor '{prop.Name}' offsets [{begin}, {end}) do not match its {dtype} shape [{string.Join(", ", shape)}] ({expected} bytes)");
            if (end > dataLength)
                throw Bad(path, $"tensor '{prop.Name}' ends at byte {end} but the data section has {dataLength} bytes (truncated file or a header that lies about offsets)");
            tensors[prop.Name] = entry;
        }
        return (tensors, metadata);
    }

    /// <summary>Reads a tensor in its stored dtype onto the CPU, or converted to <paramref name="dtype"/>.</summary>
    public Tensor Load(string name, ScalarType? dtype = null)
    {
        if (!Tensors.TryGetValue(name, out var e)) throw new KeyNotFoundException($"{Path}: no tensor named '{name}'");
        var t = torch.empty(e.Shape, SafetensorsDType.ToTorch(e.DType));
        ReadInto(e, t);
        if (dtype is { } target && target != t.dtype)
        {
            var converted = t.to(target);
            t.Dispose();
            return converted;
        }
        return t;
    }

    /// <summary>Copies the stored bytes of <paramref name="e"/> into the contiguous CPU tensor <paramref name="target"/>.</summary>
    void ReadInto(TensorEntry e, Tensor target)
    {
        long total = e.End - e.Begin;
        if (total == 0) return;
        // Tensor.bytes spans at most int.MaxValue bytes: read big tensors through row slices.
        long rows = e.Shape.Length == 0 ? 1 : e.Shape[0];
        long rowBytes = rows == 0 ? 0 : total / rows;
        long rowsPerChunk = Math.Max(1, (int.MaxValue / 2) / Math.Max(1, rowBytes));
        long offset = _dataStart + e.Begin;
        if (e.Shape.Length == 0 || rowsPerChunk >= rows)
        {
            ReadExactly(target.bytes, offset);
            return;
        }
        for (long r = 0; r < rows; r += rowsPerChunk)
        {
            long n = Math.Min(rowsPerChunk, rows - r);
            using var slice = target.narrow(0, r, n);
            ReadExactly(slice.bytes, offset + r * rowBytes);
        }
    }

    void ReadExactly(Span<byte> destination, long fileOffset)
    {
        while (destination.Length > 0)
        {
            int read = RandomAccess.Read(_handle, destination, fileOffset);
            if (read <= 0) throw Bad(Path, $"unexpected end of file at byte {fileOffset} (truncated)");
            destination = destination[read..];
            fileOffset += read;
        }
    }

    static InvalidDataException Bad(string path, string problem) => new($"{path}: {problem}");

    public void Dispose() => _handle.Dispose();
}
