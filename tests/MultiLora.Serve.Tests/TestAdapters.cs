using MultiLora.Core.Safetensors;
using MultiLora.Core.Tensors;
using MultiLora.Tests.Common;
using static TorchSharp.torch;

namespace MultiLora.Serve.Tests;

/// <summary>
/// Adapters for the fixture model. The fixture's own (peft-made) adapter barely moves the tiny model, so two strong
/// ones are derived from it (B scaled by +40 and -40) whose greedy answers differ from the base's and from each
/// other's; and one that also carries its own projector (modules_to_save), as a stage-2 adapter does.
/// </summary>
static class TestAdapters
{
    public const string Fixture = "tiny-lora";
    public const string Up = "tiny-up";
    public const string Down = "tiny-down";
    public const string WithProjector = "tiny-proj";

    static readonly string Root = Directory.CreateTempSubdirectory("multilora-serve-adapters-").FullName;
    static readonly Lazy<string> UpDir = new(() => Scaled("up", 40));
    static readonly Lazy<string> DownDir = new(() => Scaled("down", -40));
    static readonly Lazy<string> ProjectorDir = new(WriteWithProjector);

    public static string FixtureDir => MultiLora.Tests.Common.Fixture.Path("adapter");
    public static string UpPath => UpDir.Value;
    public static string DownPath => DownDir.Value;
    public static string ProjectorPath => ProjectorDir.Value;

    /// <summary>Name and folder of each adapter the test servers load at start.</summary>
    public static IReadOnlyList<(string Name, string Dir)> All =>
        [(Fixture, FixtureDir), (Up, UpPath), (Down, DownPath), (WithProjector, ProjectorPath)];

    public static string DirOf(string? name) => name switch
    {
        Fixture => FixtureDir,
        Up => UpPath,
        Down => DownPath,
        WithProjector => ProjectorPath,
        _ => throw new ArgumentException($"no test adapter '{name}'"),
    };

    static string Scaled(string name, double factor)
    {
        lock (Root)
        {
            string dir = Path.Combine(Root, name);
            Directory.CreateDirectory(dir);
            File.Copy(Path.Combine(FixtureDir, "adapter_config.json"), Path.Combine(dir, "adapter_config.json"), true);
            using var scope = NewDisposeScope();
            using var source = SafetensorsFile.Open(Path.Combine(FixtureDir, "adapter_model.safetensors"));
            SafetensorsWriter.Write(Path.Combine(dir, "adapter_model.safetensors"),
                source.Tensors.Keys.Select(k => KeyValuePair.Create(k, k.Contains("lora_B") ? source.Load(k).mul(Scalars.Of(factor)) : source.Load(k))));
            return dir;
        }
    }

    /// <summary>The "up" adapter plus a projector of its own: the base projector's weights scaled by 3 (keys as peft saves modules_to_save).</summary>
    static string WriteWithProjector()
    {
        lock (Root)
        {
            string dir = Path.Combine(Root, "proj");
            Directory.CreateDirectory(dir);
            File.Copy(Path.Combine(FixtureDir, "adapter_config.json"), Path.Combine(dir, "adapter_config.json"), true);
            using var scope = NewDisposeScope();
            using var lora = SafetensorsFile.Open(Path.Combine(UpPath, "adapter_model.safetensors"));
            using var model = SafetensorsFile.Open(MultiLora.Tests.Common.Fixture.Path("model", "model.safetensors"));
            var tensors = lora.Tensors.Keys.Select(k => KeyValuePair.Create(k, lora.Load(k))).ToList();
            foreach (var key in model.Tensors.Keys.Where(k => k.Contains("multi_modal_projector", StringComparison.Ordinal)))
            {
                string path = key[key.IndexOf("multi_modal_projector", StringComparison.Ordinal)..];
                tensors.Add(KeyValuePair.Create($"base_model.model.model.{path}", model.Load(key).mul(Scalars.Of(3.0))));
            }
            SafetensorsWriter.Write(Path.Combine(dir, "adapter_model.safetensors"), tensors);
            return dir;
        }
    }
}
