using System.Security.Cryptography;
using System.Text;
using MultiLora.Llava.Training.Recipes;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace MultiLora.Sweeps.Planning;

/// <summary>
/// A resolved recipe as YAML with its paths relative to the grid file, so the same grid in another folder (another
/// clone, a cluster's shared filesystem) has the same text and hash; the hash leaves output_dir out, since the
/// output folder is named after it.
/// </summary>
public static class RecipeText
{
    static readonly ISerializer Yaml = new SerializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build();

    public static string Portable(TrainRecipe r, string folder)
    {
        var saved = (r.Model.Path, r.Model.Vision, r.Model.Language, r.Model.Projector, r.Data.Mixture, r.Data.Eval, r.OutputDir);
        try
        {
            string? Rel(string? p) => p is null || p.Length == 0 ? p : Path.GetRelativePath(folder, p).Replace('\\', '/');
            (r.Model.Path, r.Model.Vision, r.Model.Language, r.Model.Projector) = (Rel(r.Model.Path), Rel(r.Model.Vision), Rel(r.Model.Language), Rel(r.Model.Projector));
            (r.Data.Mixture, r.Data.Eval, r.OutputDir) = (Rel(r.Data.Mixture), Rel(r.Data.Eval), Rel(r.OutputDir)!);
            return Yaml.Serialize(r);
        }
        finally
        {
            (r.Model.Path, r.Model.Vision, r.Model.Language, r.Model.Projector, r.Data.Mixture, r.Data.Eval, r.OutputDir) = saved;
        }
    }

    /// <summary>The first 12 hex digits of SHA-256 over the portable text without output_dir.</summary>
    public static string Hash(TrainRecipe r, string folder)
    {
        string output = r.OutputDir;
        r.OutputDir = "";
        try { return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Portable(r, folder))))[..12]; }
        finally { r.OutputDir = output; }
    }
}
