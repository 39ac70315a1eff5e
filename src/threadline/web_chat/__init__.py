"""web_chat"""
