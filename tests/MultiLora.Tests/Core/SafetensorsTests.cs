using MultiLora.Core.Tensors;
using System.Text;
using System.Text.Json.Nodes;
using MultiLora.Core.Safetensors;
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Model;
using MultiLora.Tests.Common;
using MultiLora.Tests.Model;
using static TorchSharp.torch;

namespace MultiLora.Tests.Core;

public sealed class SafetensorsTests
{
    [Fact]
    public void EveryDType_RoundTripsThroughWriterAndReaderWithMetadata()
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32"] = randn(3, 4),
            ["f16"] = randn(5).to(ScalarType.Float16),
            ["bf16"] = randn(2, 2, 2).to(ScalarType.BFloat16),
            ["f64"] = randn(2).to(ScalarType.Float64),
            ["i64"] = Ranges.Arange(0, 7),
            ["i32"] = Ranges.Arange(0, 6, ScalarType.Int32).reshape(2, 3),
            ["i8"] = tensor(new sbyte[] { -128, 0, 127 }),
            ["u8"] = tensor(new byte[] { 0, 17, 255 }),
            ["bool"] = tensor(new[] { true, false, true }),
            ["scalar"] = tensor(3.5f),
            ["empty"] = zeros(0, 4),
        };
        string path = tmp.File("all.safetensors");
        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "kept" });
        using var file = SafetensorsFile.Open(path);
        Assert.Equal("kept", file.Metadata["note"]);
        foreach (var (name, expected) in tensors)
        {
            var actual = file.Load(name);
            Assert.Equal(expected.dtype, actual.dtype);
            Assert.Equal(expected.shape, actual.shape);
            Assert.True(expected.eq(actual).all().item<bool>(), name);
        }
        Assert.Empty(Directory.GetFiles(tmp.Path, "*.tmp"));
    }

    [Fact]
    public void TruncatedFile_NamesTheFileAndTheTensor()
    {
        using var tmp = Fixture.Temp();
        string path = tmp.File("t.safetensors");
        var bytes = File.ReadAllBytes(Fixture.Path("model", "model.safetensors"));
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void FileShorterThanItsHeaderLength_IsRejected()
    {
        using var tmp = Fixture.Temp();
        string path = tmp.File("h.safetensors");
        File.WriteAllBytes(path, File.ReadAllBytes(Fixture.Path("model", "model.safetensors"))[..200]);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("header length", e.Message);
    }

    [Fact]
    public void HeaderThatLiesAboutOffsets_NamesTheTensor()
    {
        using var tmp = Fixture.Temp();
        string path = tmp.File("lie.safetensors");
        WriteRaw(path, """{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}""", new byte[24]);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path));
        Assert.Contains("'w'", e.Message);
        Assert.Contains("offsets", e.Message);
    }

    [Fact]
    public void UnreadableDType_IsNamed()
    {
        using var tmp = Fixture.Temp();
        string path = tmp.File("f8.safetensors");
        WriteRaw(path, """{"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}""", new byte[4]);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path));
        Assert.Contains("F8_E4M3", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void MissingShard_NamesTheShardFile()
    {
        using var tmp = Fixture.Temp();
        string dir = FixtureVariants.Write(tmp.Path, Layout.Hub, shards: 3);
        string shard = Path.Combine(dir, "model-00002-of-00003.safetensors");
        File.Delete(shard);
        var e = Assert.Throws<FileNotFoundException>(() => LlavaLoader.Load(dir, new LoadOptions()));
        Assert.Contains(shard, e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void ConfigMissingARequiredField_NamesFileAndKey()
    {
        using var tmp = Fixture.Temp();
        string dir = FixtureVariants.Write(tmp.Path, Layout.Hub, editConfig: c => c.Remove("image_token_index"));
        var e = Assert.Throws<InvalidDataException>(() => LlavaLoader.Load(dir, new LoadOptions()));
        Assert.Contains(Path.Combine(dir, "config.json"), e.Message);
        Assert.Contains("image_token_index", e.Message);

        string llamaDir = Directory.CreateDirectory(Path.Combine(tmp.Path, "llama")).FullName;
        var config = JsonNode.Parse(File.ReadAllText(Fixture.Path("parts", "llama", "config.json")))!.AsObject();
        config.Remove("hidden_size");
        File.WriteAllText(Path.Combine(llamaDir, "config.json"), config.ToJsonString());
        var e2 = Assert.Throws<InvalidDataException>(() => MultiLora.Language.LlamaConfig.Load(Path.Combine(llamaDir, "config.json")));
        Assert.Contains("'hidden_size'", e2.Message);
    }

    [Fact]
    public void WeightsThatDoNotFitTheConfig_NameKeyAndBothShapes()
    {
        using var tmp = Fixture.Temp();
        string dir = FixtureVariants.Write(tmp.Path, Layout.Hub, editConfig: c => c["text_config"]!["intermediate_size"] = 64);
        var e = Assert.Throws<InvalidDataException>(() => LlavaLoader.Load(dir, new LoadOptions()));
        // the first mismatching tensor in name order is layer 0's down_proj: stored [48, 96], config says [48, 64]
        Assert.Contains("'language_model.model.layers.0.mlp.down_proj.weight'", e.Message);
        Assert.Contains("[48, 96]", e.Message);
        Assert.Contains("[48, 64]", e.Message);
    }

    static void WriteRaw(string path, string header, byte[] data)
    {
        var h = Encoding.UTF8.GetBytes(header);
        using var s = File.Create(path);
        s.Write(BitConverter.GetBytes((long)h.Length));
        s.Write(h);
        s.Write(data);
    }
}
