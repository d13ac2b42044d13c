using System.Globalization;
using MultiLora.Core.Safetensors;
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Generation;
using MultiLora.Llava.Model;
using MultiLora.Llava.Training;
using MultiLora.Lora.Peft;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Benchmarks.Parity;

/// <summary>One comparison with transformers' / peft's output for the tiny-llava fixture.</summary>
public sealed record ParityCheck(string Name, string Measure, double Value, double Limit, bool AtLeast = false)
{
    public bool Passed => AtLeast ? Value >= Limit : Value <= Limit;
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{(Passed ? "ok  " : "FAIL")} {Name}: {Measure} {Value:G4} ({(AtLeast ? ">=" : "<=")} {Limit:G3})");
}

/// <summary>
/// The fixture parity checks (tests/fixtures/tiny-llava: the outputs transformers 5.17 / peft 0.21 computed) on any
/// device: in float32 the CPU tests' tolerances (1e-4 absolute on features and logits, identical greedy ids, peft's
/// LoRA logits, loss within 1e-5 and gradients within 1e-4 relative); in bf16 the CPU bf16 test's (logits relative
/// error under 3e-2, argmax agreement at least 90%). The CUDA tests assert these; `parity --device cuda` prints them
/// on a GPU machine that has no .NET SDK to run the tests. On CUDA TF32 is switched off first (float32 means float32).
/// </summary>
public static class FixtureParity
{
    public static List<ParityCheck> Run(string fixture, Device device, ScalarType dtype)
    {
        if (device.type == DeviceType.CUDA) { backends.cuda.matmul.allow_tf32 = false; backends.cudnn.allow_tf32 = false; }
        using var expected = SafetensorsFile.Open(Path.Combine(fixture, "expected.safetensors"));
        Tensor On(string name) => expected.Load(name).to(device);
        var checks = new List<ParityCheck>();
        using var scope = NewDisposeScope();
        using var model = LlavaLoader.Load(Path.Combine(fixture, "model"), new LoadOptions(DType: dtype, Device: device.ToString()));
        using (no_grad())
        {
            var logits = model.Forward(On("input_ids"), On("pixel_values")).cpu();
            if (dtype != ScalarType.Float32)
            {
                var reference = expected.Load("logits");
                checks.Add(new($"{dtype} logits", "relative error", RelativeError(logits, reference), 3e-2));
                checks.Add(new($"{dtype} logits", "argmax agreement", logits.argmax(-1).eq(reference.argmax(-1)).to(ScalarType.Float32).mean().item<float>(), 0.9, AtLeast: true));
                return checks;
            }
            var hidden = model.model.vision_tower.HiddenState(On("pixel_values"), -2);
            checks.Add(Close("vision_features", hidden.narrow(1, 1, hidden.shape[1] - 1), expected.Load("vision_features")));
            checks.Add(Close("image_embeds", model.ImageFeatures(On("pixel_values")), expected.Load("image_embeds")));
            checks.Add(Close("logits", logits, expected.Load("logits")));
            checks.Add(Close("text_logits", model.Forward(On("text_input_ids"), null), expected.Load("text_logits")));
        }
        var prompt = Ids(expected, "input_ids");
        var ids = Ids(expected, "generated_ids");
        var generated = LlavaGenerator.Generate(model, [prompt], On("pixel_values"), new GenerationOptions(MaxNewTokens: ids.Length))[0];
        checks.Add(new("greedy generation", "ids differing from transformers'", generated.Zip(ids).Count(p => p.First != p.Second) + Math.Abs(generated.Length - ids.Length), 0));

        PeftAdapter.Load(Path.Combine(fixture, "adapter"), model);
        model.to(device);
        using (no_grad()) checks.Add(Close("lora_logits", model.Forward(On("input_ids"), On("pixel_values")), expected.Load("lora_logits")));
        foreach (var (name, p) in model.named_parameters()) p.requires_grad = name.Contains(".lora_", StringComparison.Ordinal);
        var loss = CausalLmLoss.Compute(model.Forward(On("train_input_ids"), On("pixel_values")), On("train_labels"));
        checks.Add(new("lora train loss", "|diff|", Math.Abs(loss.item<float>() - expected.Load("lora_train_loss").item<float>()), 1e-5));
        loss.backward();
        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var matrix in new[] { "lora_A", "lora_B" })
            checks.Add(new($"grad q_proj.{matrix}", "relative error",
                RelativeError(named[$"model.language_model.layers.0.self_attn.q_proj.{matrix}.default.weight"].grad!.cpu(), expected.Load($"grad.self_attn.q_proj.{matrix}.default.weight")), 1e-4));
        return checks;
    }

    static ParityCheck Close(string name, Tensor actual, Tensor expected)
    {
        using var scope = NewDisposeScope();
        var a = actual.cpu().to(ScalarType.Float64);
        double diff = a.shape.SequenceEqual(expected.shape) ? (a - expected.to(ScalarType.Float64)).abs().max().item<double>() : double.PositiveInfinity;
        return new ParityCheck(name, "max |diff|", diff, 1e-4);
    }

    static double RelativeError(Tensor actual, Tensor expected)
    {
        using var scope = NewDisposeScope();
        var a = actual.to(ScalarType.Float64);
        var e = expected.to(ScalarType.Float64);
        return (a - e).norm().item<double>() / e.norm().item<double>();
    }

    static int[] Ids(SafetensorsFile file, string name)
    {
        using var t = file.Load(name);
        return t.flatten().data<long>().ToArray().Select(i => (int)i).ToArray();
    }

    /// <summary>`parity [--fixture DIR] [--device cuda|cpu] [--out FILE]`: both dtypes, one line per check; exit 1 if any fails.</summary>
    public static int Command(string[] args)
    {
        string Option(string name, string fallback) { int at = Array.IndexOf(args, name); return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback; }
        string fixture = Option("--fixture", "tests/fixtures/tiny-llava");
        var device = MultiLora.Core.Runtime.TorchRuntime.ResolveDevice(Option("--device", "auto"));
        var lines = new List<string>();
        bool ok = true;
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            foreach (var check in Run(fixture, device, dtype))
            {
                ok &= check.Passed;
                lines.Add($"{device} {check}");
                Console.WriteLine(lines[^1]);
            }
        if (args.Contains("--out")) File.WriteAllLines(Option("--out", "parity.txt"), lines);
        return ok ? 0 : 1;
    }
}
