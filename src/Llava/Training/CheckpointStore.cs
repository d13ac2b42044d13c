using MultiLora.Core.Optim;
using MultiLora.Core.Safetensors;
using MultiLora.Llava.Checkpoints;
using MultiLora.Lora.Peft;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Llava.Training;

/// <summary>
/// Training checkpoints under OUTPUT/checkpoint-STEP: the trainable weights (trainable.safetensors, by
/// module name), the AdamW state (optimizer.safetensors, by parameter name), the trainer state (step, data
/// position, RNG), and for LoRA runs a peft adapter folder. Written atomically; the newest complete one is what --resume picks.
/// </summary>
public static class CheckpointStore
{
    public const string Prefix = "checkpoint-";
    const string TrainableFile = "trainable.safetensors";
    /// <summary>TorchSharp's AdamW state, which checkpoints held before MultiLora had its own AdamW: converted on load.</summary>
    const string LegacyOptimizerFile = "optimizer.bin";
    public const string AdapterFolder = "adapter";

    public static string Save(string outputDir, TrainableParameters trainable, AdamW optimizer, TrainState state, nn.Module model, string? baseModel)
    {
        string dir = Path.Combine(outputDir, $"{Prefix}{state.Step}");
        AtomicDirectory.Write(dir, temp =>
        {
            SafetensorsWriter.Write(Path.Combine(temp, TrainableFile), trainable.All.Select(p => KeyValuePair.Create(p.Name, (Tensor)p.Parameter)));
            AdamWStateFile.Save(Path.Combine(temp, AdamWStateFile.FileName), optimizer);
            state.Write(temp);
            if (trainable.Lora is { } lora) PeftAdapter.Save(Path.Combine(temp, AdapterFolder), model, lora, baseModel);
        });
        return dir;
    }

    /// <summary>The newest checkpoint folder in <paramref name="outputDir"/>, or null.</summary>
    public static string? Latest(string outputDir) =>
        !Directory.Exists(outputDir) ? null
        : Directory.GetDirectories(outputDir, Prefix + "*")
            .Select(d => (Dir: d, Ok: int.TryParse(Path.GetFileName(d)[Prefix.Length..], out var step), Step: step))
            .Where(x => x.Ok && File.Exists(Path.Combine(x.Dir, TrainState.FileName)))
            .OrderByDescending(x => x.Step)
            .Select(x => x.Dir)
            .FirstOrDefault();

    /// <summary>Restores weights and optimizer state; returns the trainer state.</summary>
    public static TrainState Load(string dir, TrainableParameters trainable, AdamW optimizer)
    {
        using (var file = SafetensorsFile.Open(Path.Combine(dir, TrainableFile)))
        using (no_grad())
        {
            foreach (var (name, p) in trainable.All)
            {
                if (!file.Tensors.ContainsKey(name))
                    throw new InvalidDataException($"{file.Path}: no tensor '{name}' (the checkpoint was made with another method or model)");
                using var value = file.Load(name);
                if (!value.shape.SequenceEqual(p.shape))
                    throw new InvalidDataException($"{file.Path}: '{name}' is [{string.Join(", ", value.shape)}], the model's is [{string.Join(", ", p.shape)}]");
                // AdamW's moments were saved in the parameter's dtype: resuming in another one is not the same run
                if (value.dtype != p.dtype)
                    throw new InvalidDataException($"{file.Path}: '{name}' is {value.dtype}, the run trains it in {p.dtype} (dtype/trainable_dtype changed since the checkpoint)");
                p.copy_(value);
            }
        }
        LoadOptimizer(dir, optimizer);
        return TrainState.Read(dir);
    }

    static void LoadOptimizer(string dir, AdamW optimizer)
    {
        string current = Path.Combine(dir, AdamWStateFile.FileName), legacy = Path.Combine(dir, LegacyOptimizerFile);
        if (File.Exists(current)) { AdamWStateFile.Load(current, optimizer); return; }
        if (!File.Exists(legacy)) throw new FileNotFoundException($"{dir}: no optimizer state ({AdamWStateFile.FileName} or {LegacyOptimizerFile})", current);
        // the trainer builds its groups in the order the old one did (language model, projector, vision tower)
        using var old = TorchSharpAdamWFile.Read(legacy);
        old.RestoreInto(optimizer, legacy);
    }
}
