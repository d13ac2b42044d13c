using MultiLora.Core.Tensors;
using System.Text;
using MultiLora.Core.Safetensors;
using MultiLora.Lora.Quantization;
using MultiLora.Tests.Common;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MultiLora.Lora.Tests;

public sealed class QuantizedCheckpointTests : TorchTest
{
    [Fact]
    public void SaveThenLoad_UsesBitsAndBytesKeys_AndGivesIdenticalOutputs()
    {
        using var dir = Fixture.Temp();
        using var tree = new TinyLlava();
        Quantizer.QuantizeLinears(tree, "model.language_model.layers.0.", QuantConfig.QLoRA);
        Quantizer.QuantizeLinears(tree, "model.language_model.layers.1.", QuantConfig.QLoRA with { Type = QuantType.Int8 });
        using var x = randn(3, 48);
        using var expected = tree.forward(x);
        string path = dir.File("model.safetensors");
        QuantizedCheckpoint.Save(tree, path);

        using (var st = SafetensorsFile.Open(path))
        {
            const string q = "model.language_model.layers.0.self_attn.q_proj";
            Assert.Equal("U8", st.Tensors[$"{q}.weight"].DType);
            Assert.Equal([48L * 48 / 2, 1], st.Tensors[$"{q}.weight"].Shape);
            Assert.Equal("U8", st.Tensors[$"{q}.weight.absmax"].DType);
            Assert.Equal([16L], st.Tensors[$"{q}.weight.quant_map"].Shape);
            Assert.Equal("F32", st.Tensors[$"{q}.weight.nested_absmax"].DType);
            Assert.Equal([256L], st.Tensors[$"{q}.weight.nested_quant_map"].Shape);
            using var stateBytes = st.Load($"{q}.weight.quant_state.bitsandbytes__nf4");
            string json = Encoding.UTF8.GetString(stateBytes.data<byte>().ToArray());
            Assert.StartsWith("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [48, 48], \"nested_blocksize\": 256, \"nested_dtype\": \"float32\", \"nested_offset\": ", json);
            Assert.Equal("I8", st.Tensors["model.language_model.layers.1.mlp.up_proj.weight"].DType);
            Assert.Equal("F32", st.Tensors["model.language_model.layers.1.mlp.up_proj.SCB"].DType);
            Assert.Equal("F32", st.Tensors["lm_head.weight"].DType);
        }

        using var fresh = new TinyLlava();
        var replaced = QuantizedCheckpoint.Load(fresh, path);
        Assert.Equal(14, replaced.Count);
        Assert.IsType<Nf4Linear>(fresh.model.language_model.layers[0].mlp.gate_proj);
        Assert.IsType<Int8Linear>(fresh.model.language_model.layers[1].mlp.gate_proj);
        using var got = fresh.forward(x);
        Assert.True(TensorAssert.Identical(expected, got));
    }

    [Fact]
    public void Load_KeyWithoutAModule_IsAnError()
    {
        using var dir = Fixture.Temp();
        using var tree = new TinyLlava();
        string path = dir.File("model.safetensors");
        using var extra = zeros(3);
        var tensors = tree.state_dict().ToDictionary();
        tensors["model.language_model.layers.5.input_layernorm.weight"] = extra;
        SafetensorsWriter.Write(path, tensors);
        using var fresh = new TinyLlava();
        var e = Assert.Throws<InvalidDataException>(() => QuantizedCheckpoint.Load(fresh, path));
        Assert.Contains("model.language_model.layers.5.input_layernorm.weight", e.Message);
    }
}

public sealed class QuantizedCheckpointMapTests : TorchTest
{
    /// <summary>bitsandbytes builds its 8-bit map with vectorised linspace, whose last bits depend on the CPU: a file's map wins.</summary>
    [Fact]
    public void Load_KeepsTheCheckpointsOwnNestedQuantMap()
    {
        using var dir = Fixture.Temp();
        using var w = randn(64, 128);
        using var layer = Nf4Linear.FromWeight(w);
        var map = DynamicMap8.CodeValues.ToArray();
        map[20] = MathF.BitIncrement(map[20]); // an ulp off, as another machine's bitsandbytes may have it
        var state = new BitsAndBytesQuantState("nf4", 64, "float32", [64, 128], 256, "float32", layer.NestedOffset!.item<float>());
        using var mapTensor = tensor(map);
        using var quantMap = Nf4.Codes();
        using var stateTensor = state.ToTensor();
        string path = dir.File("q.safetensors");
        SafetensorsWriter.Write(path, new Dictionary<string, Tensor>
        {
            ["proj.weight"] = layer.PackedWeight,
            ["proj.weight.absmax"] = layer.Absmax,
            ["proj.weight.quant_map"] = quantMap,
            ["proj.weight.nested_absmax"] = layer.NestedAbsmax!,
            ["proj.weight.nested_quant_map"] = mapTensor,
            ["proj.weight.quant_state.bitsandbytes__nf4"] = stateTensor,
        });
        using var holder = new Holder();
        QuantizedCheckpoint.Load(holder, path);
        var loaded = Assert.IsType<Nf4Linear>(holder.proj);
        Assert.Equal(map, loaded.NestedCodes);
        using var expected = DynamicMap8.DequantizeBlockwise(layer.Absmax, layer.NestedAbsmax!, 256, map).Plus(layer.NestedOffset!);
        using var got = loaded.AbsmaxFloat();
        Assert.True(TensorAssert.Identical(expected, got));
    }

    sealed class Holder : nn.Module<Tensor, Tensor>
    {
        public nn.Module<Tensor, Tensor> proj = nn.Linear(128, 64, hasBias: false);
        public Holder() : base(nameof(Holder)) => RegisterComponents();
        public override Tensor forward(Tensor x) => proj.forward(x);
    }
}
