/**
 * The subset of OpenAI's Chat Completions and Responses shapes the translation reads and writes.
 * Loose on purpose: clients send vendor extras, and the mapping only touches the fields it knows.
 */
export type Json = Record<string, any>;

export interface ChatMeta {
  /** The model id as the client asked for it (echoed back in every object). */
  model: string;
  stream: boolean;
  includeUsage: boolean;
  /** Stop sequences (validated by the parameter table), applied by the gateway. */
  stop?: string[];
  /** Tool names shortened for the upstream (short → the client's original). */
  toolNames?: Record<string, string>;
  /** Expose reasoning summaries as `reasoning_content`. */
  reasoningContent: boolean;
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
}

export type ChatToolCall =
  | { id: string; type: 'function'; function: { name: string; arguments: string } }
  | { id: string; type: 'custom'; custom: { name: string; input: string } };

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: {
    index: number;
    message: {
      role: 'assistant';
      content: string | null;
      refusal: string | null;
      tool_calls?: ChatToolCall[];
      reasoning_content?: string;
    };
    logprobs: null;
    finish_reason: 'stop' | 'length' | 'tool_calls' | 'content_filter';
  }[];
  usage: ChatUsage;
  service_tier?: string;
}

export interface ChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: { index: number; delta: Json; logprobs: null; finish_reason: string | null }[];
  usage?: ChatUsage | null;
}
