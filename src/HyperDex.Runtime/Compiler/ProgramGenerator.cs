using System.Security.Cryptography;
using System.Text.Json;
using HyperDex.Runtime.Architectures;
using HyperDex.Runtime.Compiled;

namespace HyperDex.Runtime.Compiler;

/// <summary>
/// Phase 4: the instruction stream of one device, written by one layer emitter from the descriptor's
/// <see cref="BlockSpec"/>: norms by placement, q/k/v, q/k norms, rotary, KV write, attention, the output
/// projection joined by an all-reduce (added to the residual, or normalised first for post-norms), the MLP (gated,
/// plain or experts) the same way, a parallel block's two paths from one snapshot of x; then the final norm and
/// the logits. Head counts and widths are the device's local ones; every instruction is checked against its
/// <see cref="OpSchemas"/> entry.
/// </summary>
public static class ProgramGenerator
{
    /// <summary>Tokens per KV block (block table granularity, shared with the prefix cache).</summary>
    public const int KvBlockSize = 16;

    public static DeviceProgram Build(ModelShape shape, int numDevice, int device, int maxLength)
    {
        var emitter = new LayerEmitter(shape, numDevice, device, maxLength);
        var program = emitter.Emit();
        foreach (var instruction in program.Instructions)
        {
            if (OpSchemas.Violation(instruction) is { } violation)
            {
                throw new InvalidOperationException($"the compiler emitted an invalid {instruction.Op}: {violation}");
            }
        }

        return program;
    }

    /// <summary>sha256 over the serialized programs in device order (the manifest's ProgramDigest).</summary>
    public static string Digest(IEnumerable<DeviceProgram> programs)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var program in programs)
        {
            hash.AppendData(JsonSerializer.SerializeToUtf8Bytes(program, CompiledJson.Options));
        }

        return Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
    }

    private sealed class LayerEmitter
    {
        private readonly ModelShape _shape;
        private readonly BlockSpec _block;
        private readonly int _numDevice;
        private readonly int _device;
        private readonly int _maxLength;
        private readonly int _heads;
        private readonly int _kvHeads;
        private readonly HashSet<string> _tensors;
        private readonly List<Instruction> _program = new();

        public LayerEmitter(ModelShape shape, int numDevice, int device, int maxLength)
        {
            _shape = shape;
            _block = shape.Block;
            _numDevice = numDevice;
            _device = device;
            _maxLength = maxLength;
            _heads = shape.Heads / numDevice;
            _kvHeads = Partition.LocalKvHeads(shape, numDevice);
            _tensors = ParamMapper.ImageTensors(shape, numDevice).Select(t => t.Canonical).ToHashSet(StringComparer.Ordinal);
        }

        private int QWidth => _heads * _shape.HeadDim;

        private int KvWidth => _kvHeads * _shape.HeadDim;

        public DeviceProgram Emit()
        {
            int intermediate = (int)Partition.Range("intermediate", _shape.Intermediate, _shape, _numDevice, _device).Count;
            var (vocabStart, vocabCount) = Partition.Range("vocab", _shape.Vocab, _shape, _numDevice, _device);
            var buffers = new List<BufferDecl>
            {
                new("x", _shape.Hidden), new("h", _shape.Hidden), new("q", QWidth), new("k", KvWidth), new("v", KvWidth), new("attn", QWidth),
            };
            if (_block.Mlp != MlpKind.Experts || _block.Layers.Any(l => !l.Experts))
            {
                buffers.Add(new("act", intermediate));
            }

            if (_block.Placement != NormPlacement.Pre)
            {
                buffers.Add(new("t", _shape.Hidden));
            }

            if (_block.Residual == ResidualKind.ParallelTwoNorms)
            {
                buffers.Add(new("h2", _shape.Hidden));
            }

            Emit(OpCode.Embed, outputs: ["x"], weights: ["embed", Optional("pos_embed")],
                attributes: new() { ["scale"] = _block.EmbeddingScale, ["positionOffset"] = _block.PositionOffset });
            var caches = new List<KvCacheDecl>();
            for (int l = 0; l < _shape.Layers; l++)
            {
                caches.Add(new KvCacheDecl(l, _kvHeads, _shape.HeadDim));
                EmitLayer(l);
            }

            Norm(-1, "x", "h", "final_norm");
            Emit(OpCode.Logits, inputs: ["h"], weights: [ParamMapper.HeadTensor(_shape, _numDevice), Optional("lm_head_bias")],
                attributes: new()
                {
                    ["vocabStart"] = vocabStart, ["vocabCount"] = vocabCount, ["scale"] = _block.LogitScale, ["softcap"] = _block.LogitSoftcap,
                });

            return new DeviceProgram
            {
                NumDevice = _numDevice,
                Device = _device,
                MaxLength = _maxLength,
                KvBlockSize = KvBlockSize,
                VocabSize = _shape.Vocab,
                Buffers = buffers,
                KvCaches = caches,
                Instructions = _program,
            };
        }

        private void EmitLayer(int l)
        {
            LayerSpec layer = _block.Layers[l];
            string p = $"layers.{l}.";
            bool pre = _block.Placement != NormPlacement.Post;
            string attentionInput = "x";
            if (pre)
            {
                Norm(l, "x", "h", p + "attn_norm");
                attentionInput = "h";
            }

            Emit(OpCode.Project, l, [attentionInput], ["q", "k", "v"],
                [p + "attn.q", p + "attn.k", p + "attn.v", Optional(p + "attn.q_bias"), Optional(p + "attn.k_bias"), Optional(p + "attn.v_bias")],
                new() { ["clamp"] = _block.Clamp });
            if (_block.QkNorm != QkNormKind.None)
            {
                QkNorm(l, "q", p + "attn.q_norm");
                QkNorm(l, "k", p + "attn.k_norm");
            }

            if (layer.Rope is { } rope)
            {
                Emit(OpCode.Rotary, l, ["q", "k"], attributes: new()
                {
                    ["heads"] = _heads, ["kvHeads"] = _kvHeads, ["headDim"] = _shape.HeadDim, ["rotaryDim"] = rope.RotaryDim, ["theta"] = rope.Theta,
                    ["factor"] = rope.Factor, ["lowFreqFactor"] = rope.LowFreqFactor, ["highFreqFactor"] = rope.HighFreqFactor,
                    ["originalMaxPositions"] = rope.OriginalMaxPositions,
                }, modes: new() { ["style"] = _block.InterleavedRotary ? "interleaved" : "half", ["scaling"] = rope.Scaling });
            }

            Emit(OpCode.KvWrite, l, ["k", "v"]);
            double scale = _block.AttentionScale > 0 ? _block.AttentionScale : 1 / Math.Sqrt(_shape.HeadDim);
            Emit(OpCode.Attention, l, ["q"], ["attn"], attributes: new()
            {
                ["heads"] = _heads, ["kvHeads"] = _kvHeads, ["headDim"] = _shape.HeadDim,
                ["scale"] = _block.LayerScaleByIndex ? scale / (l + 1) : scale,
                ["window"] = layer.Window > 0 && layer.Window < _maxLength ? layer.Window : 0,
                ["softcap"] = _block.AttentionSoftcap,
            });

            if (_block.Residual != ResidualKind.Sequential)
            {
                // Both paths read x as it was before this layer: the MLP's input is normalised before any all-reduce.
                string mlpInput = "h";
                if (_block.Residual == ResidualKind.ParallelTwoNorms)
                {
                    Norm(l, "x", "h2", p + "mlp_norm");
                    mlpInput = "h2";
                }

                Mlp(l, layer, mlpInput, deferReduce: true);
                Join(l, "attn", p + "attn.o", Optional(p + "attn.o_bias"), p + "post_attn_norm");
                Join(l, "act", p + "mlp.down", Optional(p + "mlp.down_bias"), p + "post_mlp_norm");
                return;
            }

            Join(l, "attn", p + "attn.o", Optional(p + "attn.o_bias"), p + "post_attn_norm");
            string input = "x";
            if (pre)
            {
                Norm(l, "x", "h", p + "mlp_norm");
                input = "h";
            }

            Mlp(l, layer, input, deferReduce: false);
        }

        /// <summary>The MLP up to its row-split projection; experts include their all-reduce.</summary>
        private void Mlp(int l, LayerSpec layer, string input, bool deferReduce)
        {
            string p = $"layers.{l}.";
            if (layer.Experts)
            {
                var weights = new List<string> { p + "moe.router" };
                for (int e = 0; e < _block.Experts; e++)
                {
                    weights.AddRange([$"{p}moe.{e}.gate", $"{p}moe.{e}.up", $"{p}moe.{e}.down"]);
                }

                bool post = _block.Placement != NormPlacement.Pre;
                Emit(OpCode.Experts, l, [input], [post ? "t" : "x"], weights, new()
                {
                    ["experts"] = _block.Experts, ["topK"] = _block.ExpertsPerToken, ["normTopK"] = _block.NormalizeTopK ? 1 : 0,
                }, new() { ["reduce"] = post ? "assign" : "add", ["activation"] = _block.Activation });
                if (post)
                {
                    PostNormAdd(l, p + "post_mlp_norm");
                }

                return;
            }

            if (_block.Mlp == MlpKind.Plain)
            {
                Emit(OpCode.Project, l, [input], ["act"], [p + "mlp.up", Optional(p + "mlp.up_bias")], modes: new()
                {
                    ["epilogue"] = "act", ["activation"] = _block.Activation,
                });
            }
            else
            {
                Emit(OpCode.Project, l, [input], ["act"], [p + "mlp.gate", p + "mlp.up", Optional(p + "mlp.gate_bias"), Optional(p + "mlp.up_bias")],
                    modes: new() { ["epilogue"] = "gated", ["activation"] = _block.Activation });
            }

            if (!deferReduce)
            {
                Join(l, "act", p + "mlp.down", Optional(p + "mlp.down_bias"), p + "post_mlp_norm");
            }
        }

        /// <summary>
        /// A block output (row-split matrix) joins the residual through one all-reduce: added straight to x, or for
        /// post- and sandwich norms assigned to t, normalised, then added.
        /// </summary>
        private void Join(int l, string input, string matrix, string bias, string postNorm)
        {
            bool post = _block.Placement != NormPlacement.Pre;
            Emit(OpCode.ProjectAllReduce, l, [input], [post ? "t" : "x"], [matrix, bias],
                new() { ["scale"] = post ? 1 : _block.ResidualScale }, new() { ["reduce"] = post ? "assign" : "add" });
            if (post)
            {
                PostNormAdd(l, postNorm);
            }
        }

        private void PostNormAdd(int l, string norm)
        {
            Norm(l, "t", "t", norm);
            Emit(OpCode.Add, l, ["t"], ["x"], attributes: new() { ["scale"] = _block.ResidualScale });
        }

        private void Norm(int l, string input, string output, string weight)
        {
            Emit(OpCode.Norm, l, [input], [output], [Optional(weight), Optional(weight + "_bias")], new() { ["eps"] = _shape.Eps },
                new() { ["kind"] = _block.Norm == NormKind.Layer ? "layer" : "rms" });
        }

        private void QkNorm(int l, string buffer, string weight)
        {
            bool whole = _block.QkNorm == QkNormKind.Whole;
            Emit(OpCode.Norm, l, [buffer], [buffer], [Optional(weight), Optional(weight + "_bias")], new()
            {
                ["eps"] = _shape.Eps, ["group"] = whole ? 0 : _shape.HeadDim, ["distributed"] = whole && _numDevice > 1 ? 1 : 0,
            }, new() { ["kind"] = _block.QkNormType == NormKind.Layer ? "layer" : "rms" });
        }

        /// <summary>The tensor's name if this device's image has it, else "" (absent).</summary>
        private string Optional(string name) => _tensors.Contains(name) ? name : "";

        private void Emit(OpCode op, int layer = -1, string[]? inputs = null, string[]? outputs = null, IEnumerable<string>? weights = null,
            Dictionary<string, double>? attributes = null, Dictionary<string, string>? modes = null)
        {
            // Trailing absent weights are dropped: an op sees [W] rather than [W, ""].
            var list = (weights ?? []).ToList();
            while (list.Count > 0 && list[^1].Length == 0)
            {
                list.RemoveAt(list.Count - 1);
            }

            _program.Add(new Instruction
            {
                Op = op, Layer = layer, Inputs = inputs ?? [], Outputs = outputs ?? [], Weights = list,
                Attributes = attributes ?? new(), Modes = modes ?? new(),
            });
        }
    }
}
