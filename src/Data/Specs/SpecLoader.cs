using MultiLora.Data.Errors;
using YamlDotNet.Serialization.NamingConventions;

namespace MultiLora.Data.Specs;

/// <summary>
/// Reads dataset and mixture specs from YAML. Keys are snake_case; an unknown key is an error naming the key
/// and the file (a typo such as "image_rot" must not silently fall back to a default). Relative paths and
/// globs resolve against the spec file's folder.
/// </summary>
public static class SpecLoader
{
    /// <summary>Loads a mixture; a file holding one dataset (no "datasets" key) becomes a mixture of that one.</summary>
    public static MixtureSpec LoadMixture(string path)
    {
        var raw = Deserialize<RawSpec>(path);
        var folder = Folder(path);
        if (raw.Datasets is null)
            return new MixtureSpec { Datasets = [ToDataset(raw.AsDataset(), folder, path, 0)], TextMix = raw.TextMix ?? 0, Seed = raw.Seed ?? MixtureSpec.DefaultSeed };
        if (raw.Name is not null || raw.Files is not null)
            throw new InvalidDataException($"{path}: a mixture spec lists its datasets under 'datasets'; 'name'/'files' belong inside each entry");
        if (raw.Datasets.Count == 0) throw new InvalidDataException($"{path}: 'datasets' is empty");
        var textMix = raw.TextMix ?? 0;
        if (textMix is < 0 or >= 1) throw new InvalidDataException($"{path}: text_mix must be in [0, 1), got {textMix}");
        var datasets = raw.Datasets.Select((d, i) => ToDataset(d, folder, path, i)).ToList();
        return new MixtureSpec { Datasets = datasets, TextMix = textMix, Seed = raw.Seed ?? MixtureSpec.DefaultSeed };
    }

    /// <summary>Loads a file that holds exactly one dataset.</summary>
    public static DatasetSpec LoadDataset(string path)
    {
        var mixture = LoadMixture(path);
        if (mixture.Datasets.Count != 1) throw new InvalidDataException($"{path}: expected one dataset, found {mixture.Datasets.Count}");
        return mixture.Datasets[0];
    }

    static T Deserialize<T>(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: spec file not found", path);
        return StrictYaml.Read<T>(path);
    }

    static DatasetSpec ToDataset(RawDataset raw, string folder, string path, int index)
    {
        var where = $"{path}: dataset {index}{(raw.Name is null ? "" : $" ('{raw.Name}')")}";
        if (raw.Files is null || raw.Files.Count == 0) throw new InvalidDataException($"{where}: 'files' is missing or empty");
        var files = raw.Files.SelectMany(f => FileGlob.Expand(f, folder, where)).ToList();
        var format = raw.Format is null ? DataFormats.FromExtension(files[0]) : ParseEnum<DataFormat>(raw.Format, "format", where);
        var columns = raw.Columns?.ToMapping() ?? ColumnMapping.Default;
        if (columns.IsQuestionAnswer != (columns.Answer is not null))
            throw new InvalidDataException($"{where}: columns 'question' and 'answer' go together");
        var weight = raw.Weight ?? 1.0;
        if (!(weight > 0)) throw new InvalidDataException($"{where}: weight must be positive, got {weight}");
        return new DatasetSpec
        {
            Name = raw.Name ?? Path.GetFileNameWithoutExtension(files[0]),
            Files = files,
            Format = format,
            Columns = columns,
            ImageRoot = raw.ImageRoot is null ? null : Path.GetFullPath(raw.ImageRoot, folder),
            Weight = weight,
            OnError = raw.OnError is null ? OnError.Fail : ParseEnum<OnError>(raw.OnError, "on_error", where),
            Kind = raw.Kind is null ? DatasetKind.Image : ParseEnum<DatasetKind>(raw.Kind, "kind", where),
        };
    }

    static TEnum ParseEnum<TEnum>(string value, string key, string where) where TEnum : struct, Enum =>
        Enum.TryParse<TEnum>(value, ignoreCase: true, out var parsed) && !int.TryParse(value, out _)
            ? parsed
            : throw new InvalidDataException($"{where}: {key} '{value}' is not one of {string.Join("|", Enum.GetNames<TEnum>().Select(n => n.ToLowerInvariant()))}");

    static string Folder(string path) => Path.GetDirectoryName(Path.GetFullPath(path))!;


    // YAML shapes: mutable, nullable so that "absent" is distinguishable and defaults live in the records above.
    class RawDataset
    {
        public string? Name { get; set; }
        public List<string>? Files { get; set; }
        public string? Format { get; set; }
        public RawColumns? Columns { get; set; }
        public string? ImageRoot { get; set; }
        public double? Weight { get; set; }
        public string? OnError { get; set; }
        public string? Kind { get; set; }
    }

    sealed class RawSpec : RawDataset
    {
        public double? TextMix { get; set; }
        public int? Seed { get; set; }
        public List<RawDataset>? Datasets { get; set; }

        public RawDataset AsDataset() => this;
    }

    sealed class RawColumns
    {
        public string? Id { get; set; }
        public string? Conversations { get; set; }
        public string? Question { get; set; }
        public string? Answer { get; set; }
        public string? Image { get; set; }
        public string? ImageBase64 { get; set; }

        public ColumnMapping ToMapping() => new()
        {
            Id = Id ?? ColumnMapping.DefaultId,
            Conversations = Conversations ?? ColumnMapping.DefaultConversations,
            Question = Question,
            Answer = Answer,
            // An explicit base64 column replaces the default path column.
            Image = Image ?? (ImageBase64 is null ? ColumnMapping.DefaultImage : null),
            ImageBase64 = ImageBase64,
        };
    }
}
