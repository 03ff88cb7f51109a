"""Run the packaged int8 encoder with int8 arithmetic, so its weights stay 23 MB in memory.

The packaged ``model.onnx`` stores each weight matrix as int8 plus a float scale and turns it back
into float inside the graph (``Cast`` then ``Mul``). ONNX Runtime folds those constants when the
session starts, so as shipped the process would hold every weight as float32 (about 90 MB more)
and multiply in float. This module rewrites the graph in memory, once, before the session is made:

- ``MatMul(x, Mul(Cast(Wq), scale))`` becomes ``DynamicQuantizeMatMul(x, Wq, scale)``, ONNX
  Runtime's own int8 kernel (com.microsoft domain): the int8 weights are used as they are and the
  activations are quantized on the fly.
- ``Gather(Mul(Cast(Eq), scale), ids)`` (the token and position embedding tables) becomes
  ``Mul(Cast(Gather(Eq, ids)), Gather(scale, ids))``: only the rows a message uses become float.

Nothing else changes. Embeddings stay within a cosine of about 0.99 of the float graph's
(``tests/moderation/test_second_opinion_model.py`` checks it); the classifiers on top are trained
on this rewritten graph's output, so training and serving see the same numbers.

Only the few ONNX fields the rewrite touches are declared below (a subset of onnx.proto3, field
numbers as published); protobuf keeps every other field as it was read, so the rest of the model
is written back byte for byte. No ``onnx`` package is needed at run time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_PACKAGE = "supportcircle_onnx_subset"


def _message_classes():
    field = descriptor_pb2.FieldDescriptorProto
    optional, repeated = field.LABEL_OPTIONAL, field.LABEL_REPEATED
    proto = descriptor_pb2.FileDescriptorProto(name=f"{_PACKAGE}.proto", package=_PACKAGE, syntax="proto2")

    def message(name: str, fields: Iterable[tuple[str, int, int, int, str | None]]) -> None:
        described = proto.message_type.add(name=name)
        for field_name, number, kind, label, type_name in fields:
            added = described.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:
                added.type_name = f".{_PACKAGE}.{type_name}"

    message(
        "OperatorSetIdProto",
        [("domain", 1, field.TYPE_STRING, optional, None), ("version", 2, field.TYPE_INT64, optional, None)],
    )
    message(
        "TensorProto", [("dims", 1, field.TYPE_INT64, repeated, None), ("name", 8, field.TYPE_STRING, optional, None)]
    )
    message(
        "NodeProto",
        [
            ("input", 1, field.TYPE_STRING, repeated, None),
            ("output", 2, field.TYPE_STRING, repeated, None),
            ("name", 3, field.TYPE_STRING, optional, None),
            ("op_type", 4, field.TYPE_STRING, optional, None),
            ("domain", 7, field.TYPE_STRING, optional, None),
        ],
    )
    # ``type`` is a TypeProto; kept as its encoded bytes (the wire format is the same), to copy.
    message(
        "ValueInfoProto",
        [("name", 1, field.TYPE_STRING, optional, None), ("type", 2, field.TYPE_BYTES, optional, None)],
    )
    message(
        "GraphProto",
        [
            ("node", 1, field.TYPE_MESSAGE, repeated, "NodeProto"),
            ("initializer", 5, field.TYPE_MESSAGE, repeated, "TensorProto"),
            ("output", 12, field.TYPE_MESSAGE, repeated, "ValueInfoProto"),
        ],
    )
    message(
        "ModelProto",
        [
            ("graph", 7, field.TYPE_MESSAGE, optional, "GraphProto"),
            ("opset_import", 8, field.TYPE_MESSAGE, repeated, "OperatorSetIdProto"),
        ],
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    model = message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.ModelProto"))
    node = message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.NodeProto"))
    return model, node


_ModelProto, _NodeProto = _message_classes()


@dataclass(frozen=True)
class Rewritten:
    model: bytes
    int8_matmuls: int  # MatMuls now computed in int8
    int8_tables: int  # embedding tables now gathered as int8
    layer_outputs: tuple[str, ...] = ()  # graph outputs added for the layers asked for, in that order


def int8_arithmetic(model_bytes: bytes, *, layers: tuple[int, ...] = ()) -> Rewritten:
    """The same model with its dequantize-then-float patterns replaced by int8 kernels, and the
    hidden states after each of ``layers`` (1 = the first transformer layer) as extra outputs."""
    model = _ModelProto()
    model.ParseFromString(model_bytes)
    graph = model.graph
    layer_outputs = _expose_layers(graph, layers)
    producer = {output: node for node in graph.node for output in node.output}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    initializers = {tensor.name: tensor for tensor in graph.initializer}

    dropped: set[int] = set()  # nodes that disappear (by id)
    moved: dict[int, list] = {}  # nodes that move to run right after a node (by id)
    matmuls = tables = 0
    for mul in list(graph.node):
        if mul.op_type != "Mul" or len(mul.input) != 2:
            continue
        cast = producer.get(mul.input[0])
        if cast is None or cast.op_type != "Cast" or cast.input[0] not in initializers:
            continue
        quantized, scale, weight = cast.input[0], mul.input[1], mul.output[0]
        if scale not in initializers or len(consumers.get(weight, ())) != 1:
            continue
        if len(consumers.get(cast.output[0], ())) != 1 or len(consumers.get(scale, ())) != 1:
            continue
        user = consumers[weight][0]
        scale_dims = list(initializers[scale].dims)
        if user.op_type == "MatMul" and user.input[1] == weight and len(scale_dims) == 2 and scale_dims[0] == 1:
            # Per-output-column scale: DynamicQuantizeMatMul wants it as a vector.
            activations = user.input[0]
            user.op_type, user.domain = "DynamicQuantizeMatMul", "com.microsoft"
            del user.input[:]
            user.input.extend([activations, quantized, scale])
            del initializers[scale].dims[:]
            initializers[scale].dims.extend(scale_dims[1:])
            dropped.update((id(mul), id(cast)))
            matmuls += 1
        elif user.op_type == "Gather" and user.input[0] == weight and len(scale_dims) == 2 and scale_dims[1] == 1:
            # Per-row scale: gather the int8 rows and their scales, then make only those float.
            indices, output = user.input[1], user.output[0]
            rows, row_scales, rows_float = f"{output}__int8", f"{output}__scale", f"{output}__float"
            del user.output[:]
            user.output.append(rows)
            user.input[0] = quantized
            gather_scales = _NodeProto(
                op_type="Gather", name=f"{output}__gather_scale", input=[scale, indices], output=[row_scales]
            )
            del cast.input[:]
            cast.input.append(rows)
            del cast.output[:]
            cast.output.append(rows_float)
            del mul.input[:]
            mul.input.extend([rows_float, row_scales])
            del mul.output[:]
            mul.output.append(output)
            dropped.update((id(mul), id(cast)))
            moved[id(user)] = [gather_scales, cast, mul]
            tables += 1

    if not matmuls and not tables and not layer_outputs:
        return Rewritten(model_bytes, 0, 0)
    order = []
    for node in graph.node:
        if id(node) not in dropped:
            order.append(node)
            order.extend(moved.get(id(node), ()))
    copies = []
    for node in order:
        copy = type(node)()
        copy.CopyFrom(node)
        copies.append(copy)
    del graph.node[:]
    graph.node.extend(copies)
    if not any(opset.domain == "com.microsoft" for opset in model.opset_import):
        model.opset_import.add(domain="com.microsoft", version=1)
    return Rewritten(model.SerializeToString(), matmuls, tables, layer_outputs)


def _expose_layers(graph, layers: tuple[int, ...]) -> tuple[str, ...]:
    """A BERT encoder has one LayerNormalization after its embeddings and two per layer (after
    attention, then after the feed-forward block): layer k's output is the (2k)th after the first."""
    if not layers:
        return ()
    norms = [node.output[0] for node in graph.node if node.op_type == "LayerNormalization"]
    if len(norms) % 2 != 1 or not graph.output:
        raise ValueError("This is not the BERT-shaped encoder whose layers can be read out.")
    names = []
    for layer in layers:
        if not 1 <= layer <= len(norms) // 2:
            raise ValueError(f"The encoder has {len(norms) // 2} layers; there is no layer {layer}.")
        name = norms[2 * layer]
        if not any(output.name == name for output in graph.output):
            graph.output.add(name=name, type=graph.output[0].type)  # same type: (batch, sequence, 384) float
        names.append(name)
    return tuple(names)
