using System.Globalization;
using MultiLora.Eval.Tasks;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MultiLora.Sweeps.Grid;

/// <summary>
/// Reads a grid YAML. Every mistake is one line naming the file and the key: unknown keys, an axis that is not a
/// recipe key, an empty axis, a value of the wrong type, a recipe file that does not exist, an unknown eval task.
/// Paths are relative to the grid file.
/// </summary>
public static class GridLoader
{
    static readonly string[] TopKeys = ["name", "recipe", "stage1_recipe", "base_recipe", "workspace", "axes", "include", "exclude", "base_axes", "stage1_axes", "eval", "launcher", "prepare"];
    static readonly string[] EvalKeys = ["tasks", "data_root", "limit", "batch_size", "task_paths"];
    static readonly string[] LauncherKeys = ["type", "parallel", "devices", "partition", "gpus", "cpus", "memory", "time", "extra"];
    static readonly string[] SynthKeys = ["out", "resolution", "train", "eval", "seed"];

    public static GridSpec Load(string path)
    {
        string file = Path.GetFullPath(path);
        if (!File.Exists(file)) throw new FileNotFoundException($"{path}: grid file not found", path);
        var root = ReadRoot(file);
        var r = new Reader(file);
        r.OnlyKeys(root, TopKeys, "");
        string folder = Path.GetDirectoryName(file)!;

        string name = r.Scalar(root, "name") ?? throw r.Error("name", "missing (a sweep needs a name)");
        if (name.Any(c => !(char.IsLetterOrDigit(c) || c is '-' or '_' or '.'))) throw r.Error("name", $"'{name}' may hold only letters, digits, '-', '_' and '.'");
        string recipe = r.ExistingFile(root, "recipe", folder, required: true)!;
        string? stage1 = r.ExistingFile(root, "stage1_recipe", folder, required: false);
        string? baseRecipe = r.ExistingFile(root, "base_recipe", folder, required: false);
        string workspace = Path.GetFullPath(r.Scalar(root, "workspace") ?? throw r.Error("workspace", "missing (the folder for runs.db and every run's outputs)"), folder);

        var axes = ReadAxes(r, root);
        var axisKeys = axes.Select(a => a.Key).ToList();
        var include = r.Sequence(root, "include").Select((node, i) => new CellAxes(ReadAssignments(r, node, $"include[{i}]").ToList())).ToList();
        var exclude = r.Sequence(root, "exclude").Select((node, i) => (IReadOnlyDictionary<string, string>)ReadAssignments(r, node, $"exclude[{i}]")
            .ToDictionary(kv => kv.Key, kv => kv.Value)).ToList();
        foreach (var (pattern, i) in exclude.Select((p, i) => (p, i)))
            foreach (var key in pattern.Keys.Where(k => !axisKeys.Contains(k)))
                throw r.Error($"exclude[{i}].{key}", "is not one of the grid's axes");

        var defaultBase = axisKeys.Where(k => k.StartsWith("model.", StringComparison.Ordinal)).ToList();
        var baseAxes = r.StringList(root, "base_axes") ?? defaultBase;
        var stage1Axes = r.StringList(root, "stage1_axes") ?? [.. defaultBase, .. axisKeys.Where(k => k == "data.resolution")];
        foreach (var (list, key) in new[] { (baseAxes, "base_axes"), (stage1Axes, "stage1_axes") })
            foreach (var k in list.Where(k => !axisKeys.Contains(k)))
                throw r.Error(key, $"'{k}' is not one of the grid's axes");

        return new GridSpec
        {
            File = file,
            Name = name,
            Recipe = recipe,
            Stage1Recipe = stage1,
            BaseRecipe = baseRecipe,
            Workspace = workspace,
            Axes = axes,
            Include = include,
            Exclude = exclude,
            BaseAxes = baseAxes,
            Stage1Axes = stage1Axes,
            Eval = ReadEval(r, root, folder),
            Launcher = ReadLauncher(r, root),
            SyntheticData = ReadPrepare(r, root, folder),
        };
    }

    static YamlMappingNode ReadRoot(string file)
    {
        var stream = new YamlStream();
        try
        {
            using var reader = new StringReader(File.ReadAllText(file));
            stream.Load(reader);
        }
        catch (YamlException e) { throw new InvalidDataException($"{file}: line {e.Start.Line}: {e.InnerException?.Message ?? e.Message}"); }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new InvalidDataException($"{file}: a grid is a YAML mapping (name, recipe, workspace, axes, ...)");
        return root;
    }

    static List<Axis> ReadAxes(Reader r, YamlMappingNode root)
    {
        if (r.Child(root, "axes") is not YamlMappingNode map) throw r.Error("axes", "missing or not a mapping of recipe key -> list of values");
        var axes = new List<Axis>();
        foreach (var (keyNode, valueNode) in map.Children)
        {
            string key = ((YamlScalarNode)keyNode).Value ?? "";
            string where = $"axes.{key}";
            var type = CheckKey(r, key, where);
            if (valueNode is not YamlSequenceNode seq) throw r.Error(where, "is not a list of values");
            if (seq.Children.Count == 0) throw r.Error(where, "is empty (an axis needs at least one value)");
            var values = new List<string>();
            foreach (var v in seq.Children)
            {
                if (v is not YamlScalarNode s || s.Value is null) throw r.Error(where, "values must be scalars");
                if (RecipeKeys.Problem(type, s.Value) is { } problem) throw r.Error(where, $"value {problem}");
                if (values.Contains(s.Value)) throw r.Error(where, $"value '{s.Value}' is listed twice");
                values.Add(s.Value);
            }
            axes.Add(new Axis(key, values));
        }
        if (axes.Count == 0) throw r.Error("axes", "is empty (name at least one recipe key)");
        return axes;
    }

    static Type CheckKey(Reader r, string key, string where)
    {
        var type = RecipeKeys.TypeOf(key) ?? throw r.Error(where, $"unknown recipe key '{key}' (axes name recipe keys as --set spells them, e.g. lora.rank)");
        if (RecipeKeys.IsSection(type)) throw r.Error(where, $"'{key}' is a recipe section, not a value");
        return type;
    }

    static IEnumerable<KeyValuePair<string, string>> ReadAssignments(Reader r, YamlNode node, string where)
    {
        if (node is not YamlMappingNode map) throw r.Error(where, "is not a mapping of recipe key -> value");
        foreach (var (k, v) in map.Children)
        {
            string key = ((YamlScalarNode)k).Value ?? "";
            var type = CheckKey(r, key, $"{where}.{key}");
            if (v is not YamlScalarNode s || s.Value is null) throw r.Error($"{where}.{key}", "must be a scalar");
            if (RecipeKeys.Problem(type, s.Value) is { } problem) throw r.Error($"{where}.{key}", $"value {problem}");
            yield return new(key, s.Value);
        }
    }

    static EvalSpec? ReadEval(Reader r, YamlMappingNode root, string folder)
    {
        if (r.Child(root, "eval") is not { } node) return null;
        if (node is not YamlMappingNode map) throw r.Error("eval", "is not a mapping (tasks, data_root, limit)");
        r.OnlyKeys(map, EvalKeys, "eval.");
        var tasks = r.StringList(map, "tasks", "eval.") ?? throw r.Error("eval.tasks", "missing (a list of task names)");
        if (tasks.Count == 0) throw r.Error("eval.tasks", "is empty");
        var taskPaths = (r.StringList(map, "task_paths", "eval.") ?? []).Select(p => Path.GetFullPath(p, folder)).ToList();
        TaskCatalog catalog;
        try { catalog = TaskCatalog.Load(taskPaths); }
        catch (Exception e) when (e is IOException or InvalidDataException) { throw r.Error("eval.task_paths", e.Message); }
        var known = catalog.All.Select(t => t.Name).ToHashSet();
        foreach (var t in tasks.Where(t => !known.Contains(t)))
            throw r.Error("eval.tasks", $"unknown task '{t}' (known: {string.Join(", ", known.Order())})");
        string dataRoot = Path.GetFullPath(r.Scalar(map, "data_root", "eval.") ?? throw r.Error("eval.data_root", "missing (the folder holding the tasks' data)"), folder);
        int? limit = r.Int(map, "limit", "eval.");
        if (limit is <= 0) throw r.Error("eval.limit", $"must be positive, got {limit}");
        int batch = r.Int(map, "batch_size", "eval.") ?? 16;
        if (batch <= 0) throw r.Error("eval.batch_size", $"must be positive, got {batch}");
        return new EvalSpec(tasks, dataRoot, limit, batch, taskPaths);
    }

    static LauncherSpec ReadLauncher(Reader r, YamlMappingNode root)
    {
        if (r.Child(root, "launcher") is not { } node) return new LauncherSpec();
        if (node is YamlScalarNode s) node = new YamlMappingNode { { "type", s.Value ?? "" } };
        if (node is not YamlMappingNode map) throw r.Error("launcher", "is not a mapping (type: local|slurm, ...)");
        r.OnlyKeys(map, LauncherKeys, "launcher.");
        string type = r.Scalar(map, "type", "launcher.") ?? LauncherSpec.Local;
        if (type is not (LauncherSpec.Local or LauncherSpec.Slurm)) throw r.Error("launcher.type", $"'{type}' is not local or slurm");
        var spec = new LauncherSpec
        {
            Type = type,
            Parallel = r.Int(map, "parallel", "launcher.") ?? 1,
            Devices = r.Int(map, "devices", "launcher.") ?? 1,
            Partition = r.Scalar(map, "partition", "launcher."),
            Gpus = r.Int(map, "gpus", "launcher.") ?? 0,
            Cpus = r.Int(map, "cpus", "launcher."),
            Memory = r.Scalar(map, "memory", "launcher."),
            Time = r.Scalar(map, "time", "launcher."),
            Extra = r.StringList(map, "extra", "launcher.") ?? [],
        };
        if (spec.Parallel <= 0) throw r.Error("launcher.parallel", $"must be positive, got {spec.Parallel}");
        if (spec.Devices <= 0) throw r.Error("launcher.devices", $"must be positive, got {spec.Devices}");
        if (spec.Gpus < 0) throw r.Error("launcher.gpus", $"must not be negative, got {spec.Gpus}");
        return spec;
    }

    static SyntheticDataSpec? ReadPrepare(Reader r, YamlMappingNode root, string folder)
    {
        if (r.Child(root, "prepare") is not { } node) return null;
        if (node is not YamlMappingNode map) throw r.Error("prepare", "is not a mapping (synthetic_data: ...)");
        r.OnlyKeys(map, ["synthetic_data"], "prepare.");
        if (r.Child(map, "synthetic_data") is not YamlMappingNode synth) throw r.Error("prepare.synthetic_data", "missing or not a mapping (out, resolution, train, eval, seed)");
        const string p = "prepare.synthetic_data.";
        r.OnlyKeys(synth, SynthKeys, p);
        string output = Path.GetFullPath(r.Scalar(synth, "out", p) ?? throw r.Error(p + "out", "missing (the data folder)"), folder);
        return new SyntheticDataSpec(output, r.Int(synth, "resolution", p) ?? 32, r.Int(synth, "train", p) ?? 1000, r.Int(synth, "eval", p) ?? 50, r.Int(synth, "seed", p) ?? 0);
    }

    /// <summary>Typed access to mapping children with errors that name the file and the dotted key.</summary>
    sealed class Reader(string file)
    {
        public InvalidDataException Error(string key, string message) => new($"{file}: {key}: {message}");

        public YamlNode? Child(YamlMappingNode map, string key) => map.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

        public void OnlyKeys(YamlMappingNode map, string[] allowed, string prefix)
        {
            foreach (var k in map.Children.Keys)
            {
                string name = (k as YamlScalarNode)?.Value ?? "?";
                if (!allowed.Contains(name)) throw Error(prefix + name, $"unknown key (known: {string.Join(", ", allowed)})");
            }
        }

        public string? Scalar(YamlMappingNode map, string key, string prefix = "") => Child(map, key) switch
        {
            null => null,
            YamlScalarNode s => s.Value,
            _ => throw Error(prefix + key, "must be a single value"),
        };

        public int? Int(YamlMappingNode map, string key, string prefix = "") => Scalar(map, key, prefix) is not { } s ? null
            : int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw Error(prefix + key, $"'{s}' is not an integer");

        public List<string>? StringList(YamlMappingNode map, string key, string prefix = "") => Child(map, key) switch
        {
            null => null,
            YamlSequenceNode seq => seq.Children.Select(c => (c as YamlScalarNode)?.Value ?? throw Error(prefix + key, "values must be scalars")).ToList(),
            _ => throw Error(prefix + key, "must be a list"),
        };

        public IEnumerable<YamlNode> Sequence(YamlMappingNode map, string key) => Child(map, key) switch
        {
            null => [],
            YamlSequenceNode seq => seq.Children,
            _ => throw Error(key, "must be a list"),
        };

        public string? ExistingFile(YamlMappingNode map, string key, string folder, bool required)
        {
            string? value = Scalar(map, key);
            if (value is null) return required ? throw Error(key, "missing (a train recipe, relative to the grid file)") : null;
            string full = Path.GetFullPath(value, folder);
            return File.Exists(full) ? full : throw Error(key, $"recipe {value} not found ({full})");
        }
    }
}
