using System.Globalization;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace MultiLora.Lora.Quantization;

/// <summary>
/// The non-tensor part of a bitsandbytes 4-bit QuantState, stored as
/// "&lt;module&gt;.weight.quant_state.bitsandbytes__nf4": uint8 bytes of the UTF-8 JSON that
/// QuantState.as_dict(packed=True) writes with Python's json.dumps (", " and ": " separators, keys in
/// this order).
/// </summary>
public sealed record BitsAndBytesQuantState(string QuantType, int BlockSize, string DType, long[] Shape,
                                            int? NestedBlockSize, string? NestedDType, double? NestedOffset)
{
    public const string KeySuffix = ".weight.quant_state.bitsandbytes__nf4";

    public string ToJson()
    {
        var sb = new StringBuilder();
        sb.Append("{\"quant_type\": ").Append(JsonSerializer.Serialize(QuantType))
          .Append(", \"blocksize\": ").Append(BlockSize.ToString(CultureInfo.InvariantCulture))
          .Append(", \"dtype\": ").Append(JsonSerializer.Serialize(DType))
          .Append(", \"shape\": [").Append(string.Join(", ", Shape.Select(s => s.ToString(CultureInfo.InvariantCulture)))).Append(']');
        if (NestedBlockSize is { } nb)
        {
            sb.Append(", \"nested_blocksize\": ").Append(nb.ToString(CultureInfo.InvariantCulture))
              .Append(", \"nested_dtype\": ").Append(JsonSerializer.Serialize(NestedDType))
              .Append(", \"nested_offset\": ").Append(PythonFloat(NestedOffset ?? 0));
        }
        return sb.Append('}').ToString();
    }

    /// <summary>Python's repr of a float: shortest round-trip digits, lower-case exponent, ".0" on whole numbers.</summary>
    static string PythonFloat(double v)
    {
        string s = v.ToString("R", CultureInfo.InvariantCulture).Replace("E", "e");
        return s.Contains('.') || s.Contains('e') || s.Contains("Infinity") || s.Contains("NaN") ? s : s + ".0";
    }

    public Tensor ToTensor() => tensor(Encoding.UTF8.GetBytes(ToJson()), ScalarType.Byte);

    public static BitsAndBytesQuantState FromTensor(Tensor bytes, string where)
    {
        string json = Encoding.UTF8.GetString(bytes.to(ScalarType.Byte).data<byte>().ToArray());
        try
        {
            using var doc = JsonDocument.Parse(json);
            var r = doc.RootElement;
            string Need(string key) => r.TryGetProperty(key, out var v) ? v.ToString() : throw new InvalidDataException($"{where}: quant_state has no '{key}'");
            long[] shape = r.TryGetProperty("shape", out var s) && s.ValueKind == JsonValueKind.Array
                ? s.EnumerateArray().Select(x => x.GetInt64()).ToArray()
                : throw new InvalidDataException($"{where}: quant_state has no 'shape' list");
            bool nested = r.TryGetProperty("nested_blocksize", out var nbs);
            return new BitsAndBytesQuantState(
                Need("quant_type"), int.Parse(Need("blocksize"), CultureInfo.InvariantCulture), Need("dtype"), shape,
                nested ? nbs.GetInt32() : null,
                nested ? Need("nested_dtype") : null,
                nested ? double.Parse(Need("nested_offset"), CultureInfo.InvariantCulture) : null);
        }
        catch (JsonException e) { throw new InvalidDataException($"{where}: quant_state is not valid JSON ({e.Message})"); }
        catch (FormatException e) { throw new InvalidDataException($"{where}: quant_state has a malformed number ({e.Message})"); }
    }

    public static string DTypeName(ScalarType t) => t switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        _ => throw new ArgumentException($"bitsandbytes 4-bit weights come from float32/bfloat16/float16, not {t}"),
    };

    public static ScalarType ParseDType(string name, string where) => name switch
    {
        "float32" => ScalarType.Float32,
        "bfloat16" => ScalarType.BFloat16,
        "float16" => ScalarType.Float16,
        _ => throw new InvalidDataException($"{where}: quant_state dtype '{name}' is not float32, bfloat16 or float16"),
    };
}
