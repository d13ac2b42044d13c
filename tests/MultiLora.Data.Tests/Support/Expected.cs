using MultiLora.Tests.Common;

namespace MultiLora.Data.Tests.Support;

/// <summary>The fixture's expected.safetensors and meta.json, loaded once.</summary>
public static class Expected
{
    static readonly Lazy<SafetensorsFile> File = new(() => new SafetensorsFile(Fixture.Path("expected.safetensors")));
    static readonly Lazy<System.Text.Json.JsonElement> MetaJson =
        new(() => System.Text.Json.JsonDocument.Parse(System.IO.File.ReadAllText(Fixture.Path("meta.json"))).RootElement);

    public static SafetensorsFile Tensors => File.Value;
    public static System.Text.Json.JsonElement Meta => MetaJson.Value;

    /// <summary>An int64 tensor of batch 1 as int ids.</summary>
    public static int[] Ids(string name) => Tensors.I64(name).Select(v => checked((int)v)).ToArray();

    public static string ModelDir => Fixture.Path("model");
}
