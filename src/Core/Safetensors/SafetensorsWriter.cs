using System.Text.Json;
using static TorchSharp.torch;

namespace MultiLora.Core.Safetensors;

/// <summary>
/// Writes tensors in the safetensors format, atomically (temporary file, then rename), so an
/// interrupted write never leaves a half-written checkpoint under the final name.
/// </summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var (name, t) in list)
        {
            long size = t.numel() * t.ElementSize;
            header[name] = new Dictionary<string, object>
            {
                ["dtype"] = SafetensorsDType.FromTorch(t.dtype),
                ["shape"] = t.shape,
                ["data_offsets"] = new[] { offset, offset + size },
            };
            offset += size;
        }
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        int padded = (json.Length + 7) / 8 * 8; // 8-byte alignment, padded with spaces as the reference writer does
        var headerBytes = new byte[padded];
        json.CopyTo(headerBytes, 0);
        for (int i = json.Length; i < padded; i++) headerBytes[i] = (byte)' ';

        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = full + $".{Environment.ProcessId}.tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            stream.Write(BitConverter.GetBytes((long)padded));
            stream.Write(headerBytes);
            foreach (var (_, t) in list) WriteData(stream, t);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, full, overwrite: true);
    }

    static void WriteData(Stream stream, Tensor t)
    {
        using var scope = NewDisposeScope();
        var cpu = t.detach().cpu().contiguous();
        if (cpu.numel() == 0) return;
        long rows = cpu.dim() == 0 ? 1 : cpu.shape[0];
        long rowBytes = cpu.numel() * cpu.ElementSize / rows;
        long rowsPerChunk = Math.Max(1, (int.MaxValue / 2) / Math.Max(1, rowBytes));
        if (cpu.dim() == 0 || rowsPerChunk >= rows) { stream.Write(cpu.bytes); return; }
        for (long r = 0; r < rows; r += rowsPerChunk)
            stream.Write(cpu.narrow(0, r, Math.Min(rowsPerChunk, rows - r)).bytes);
    }

    /// <summary>The metadata HF writes into model files ("format": "pt").</summary>
    public static IReadOnlyDictionary<string, string> PtMetadata { get; } = new Dictionary<string, string> { ["format"] = "pt" };
}
