"""Request and response bodies of the HTTP API (the OpenAPI schema is generated from them)."""

from __future__ import annotations

from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

FilterValue = Optional[Union[str, dict[str, Any]]]
FILTER_HELP = ("A metadata filter: the text grammar (`year >= 2020 and venue in [\"ACL\"]`) or its JSON form; "
               "see docs/filters.md.")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchRequest(Strict):
    query: str = Field(description="The query text.")
    k: int = Field(10, strict=True, description="Hits to return (an integer: not 2.5, \"5\" or true).")
    retriever: Optional[str] = Field(None, description="A served retriever's name (default: the first served).")
    filter: FilterValue = Field(None, description=FILTER_HELP)
    explain: bool = Field(False, strict=True, description="Add each hit's explanation (per term, or per fused input).")
    snippets: bool = Field(False, strict=True, description="Add each hit's title and text snippet with the matched "
                                                           "words marked (the page asks for them).")


class QueryItem(Strict):
    id: str
    text: str


class BatchRequest(Strict):
    queries: list[Union[str, QueryItem]] = Field(description="Query texts (ids 0, 1, ...) or {id, text} objects.")
    k: int = Field(10, strict=True)
    retriever: Optional[str] = None
    filter: FilterValue = Field(None, description=FILTER_HELP)


class Segment(BaseModel):
    text: str
    match: bool


class Term(BaseModel):
    term: str
    query_weight: float
    impact: float
    contribution: float
    expansion: Optional[bool] = Field(description="In the document vector but not in its text.")


class PartModel(BaseModel):
    retriever: str
    rank: Optional[int]
    score: Optional[float]
    contribution: float
    explanation: Optional["ExplanationModel"]


class ExplanationModel(BaseModel):
    doc_id: str
    retriever: str
    score: float
    terms: list[Term]
    parts: list[PartModel]
    note: str


PartModel.model_rebuild()


class Hit(BaseModel):
    rank: int
    id: str
    score: float
    title: str = ""
    title_segments: list[Segment] = []
    snippet: list[Segment] = []
    explanation: Optional[ExplanationModel] = None


class SearchResponse(BaseModel):
    retriever: str
    query: str
    k: int
    hits: list[Hit]
    took_ms: float
    generation: Optional[int] = Field(None, description="The commit the answer was read from (sparse indexes).")


class BatchHits(BaseModel):
    qid: str
    ids: list[str]
    scores: list[float]


class BatchResponse(BaseModel):
    retriever: str
    k: int
    results: list[BatchHits]
    took_ms: float


class DocumentModel(Strict):
    id: str = Field(min_length=1)
    text: str
    title: str = ""
    metadata: dict[str, Any] = {}


class DocumentsRequest(Strict):
    documents: list[DocumentModel]
    retriever: Optional[str] = Field(None, description="The served index to change (default: the first served).")


class WriteResponse(BaseModel):
    retriever: str
    generation: Optional[int] = Field(description="The commit that holds the change (durable when answered).")
    added: int = 0
    deleted: int = 0


class RetrieverInfo(BaseModel):
    name: str
    retriever: str
    kind: str
    writable: bool
    fields: dict[str, str] = Field(description="Filterable metadata fields and their types.")


class Health(BaseModel):
    status: str
    retrievers: list[RetrieverInfo]


class Error(BaseModel):
    type: str
    message: str


class ErrorResponse(BaseModel):
    error: Error
