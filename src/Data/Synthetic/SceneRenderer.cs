using MultiLora.Data.Images;
using MultiLora.Data.Mixing;

namespace MultiLora.Data.Synthetic;

/// <summary>Rasterises a <see cref="Scene"/> at any square resolution (pixel-centre sampling, no anti-aliasing).</summary>
public static class SceneRenderer
{
    /// <summary>Texture amplitude: faint enough that the shapes' colours stay far apart.</summary>
    const int TextureAmplitude = 12;

    public static RgbImage Render(Scene scene, int resolution)
    {
        if (resolution < 8) throw new ArgumentException($"resolution must be at least 8 pixels, got {resolution}");
        var pixels = new byte[resolution * resolution * 3];
        var texture = new SeededRandom(scene.TextureSeed, "texture");
        for (var y = 0; y < resolution; y++)
            for (var x = 0; x < resolution; x++)
            {
                var level = scene.Textured ? Math.Clamp(scene.BackgroundLevel + texture.Next(-TextureAmplitude, TextureAmplitude + 1), 0, 255) : scene.BackgroundLevel;
                var (r, g, b) = ((byte)level, (byte)level, (byte)level);
                var u = (x + 0.5) / resolution;
                var v = (y + 0.5) / resolution;
                foreach (var shape in scene.Shapes)
                    if (Inside(shape, u, v)) (r, g, b) = SceneVocabulary.Rgb(shape.Colour);
                var o = (y * resolution + x) * 3;
                pixels[o] = r; pixels[o + 1] = g; pixels[o + 2] = b;
            }
        return new RgbImage(resolution, resolution, pixels);
    }

    static bool Inside(SceneShape shape, double u, double v)
    {
        var dx = (u - shape.CenterX) / shape.HalfSize;
        var dy = (v - shape.CenterY) / shape.HalfSize;
        return shape.Kind switch
        {
            ShapeKind.Circle => dx * dx + dy * dy <= 1.0,
            ShapeKind.Square => Math.Abs(dx) <= 0.85 && Math.Abs(dy) <= 0.85,
            // Upright triangle: apex at the top, base at the bottom; half-width grows linearly downwards.
            ShapeKind.Triangle => dy is >= -1 and <= 0.9 && Math.Abs(dx) <= (dy + 1) / 1.9,
            ShapeKind.Cross => (Math.Abs(dx) <= 0.3 && Math.Abs(dy) <= 1) || (Math.Abs(dy) <= 0.3 && Math.Abs(dx) <= 1),
            _ => false,
        };
    }
}
