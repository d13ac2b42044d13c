using System.Buffers.Binary;
using System.Text.Json;

namespace MultiLora.Data.Tests.Support;

/// <summary>
/// Test-only safetensors reader (8-byte little-endian header length, JSON header, raw data); F32 and I64
/// only. Core's reader needs TorchSharp, which MultiLora.Data must not depend on.
/// </summary>
public sealed class SafetensorsFile
{
    readonly byte[] _bytes;
    readonly long _dataStart;
    readonly Dictionary<string, (string Dtype, long[] Shape, long Begin, long End)> _entries = new();

    public SafetensorsFile(string path)
    {
        _bytes = File.ReadAllBytes(path);
        var headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(_bytes);
        _dataStart = 8 + headerLength;
        using var header = JsonDocument.Parse(_bytes.AsMemory(8, (int)headerLength));
        foreach (var p in header.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__") continue;
            var offsets = p.Value.GetProperty("data_offsets");
            _entries[p.Name] = (p.Value.GetProperty("dtype").GetString()!,
                                p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray(),
                                offsets[0].GetInt64(), offsets[1].GetInt64());
        }
    }

    public long[] Shape(string name) => Entry(name).Shape;

    public float[] F32(string name) => Read<float>(name, "F32");

    public long[] I64(string name) => Read<long>(name, "I64");

    T[] Read<T>(string name, string dtype) where T : unmanaged
    {
        var e = Entry(name);
        if (e.Dtype != dtype) throw new InvalidDataException($"{name}: dtype {e.Dtype}, expected {dtype}");
        var span = _bytes.AsSpan((int)(_dataStart + e.Begin), (int)(e.End - e.Begin));
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(span).ToArray();
    }

    (string Dtype, long[] Shape, long Begin, long End) Entry(string name) =>
        _entries.TryGetValue(name, out var e) ? e : throw new KeyNotFoundException($"tensor '{name}' not in file");
}
