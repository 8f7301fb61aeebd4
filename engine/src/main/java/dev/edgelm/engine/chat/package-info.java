/**
 * Chat templates: a conversation ({@link dev.edgelm.engine.chat.ChatMessage}s) rendered into a
 * prompt by the model's Jinja template, as Hugging Face renders it ({@link
 * dev.edgelm.engine.chat.ChatTemplate}). The template comes from the package's descriptor ({@code
 * tokenizer.chat}, read from the checkpoint's {@code tokenizer_config.json} by {@link
 * dev.edgelm.engine.tokenizer.TokenizerConfigChat}), else from the operator (a file or a built-in
 * name).
 */
package dev.edgelm.engine.chat;
